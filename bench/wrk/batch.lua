-- POST /entityOperations/upsert with `size` AirQualityObserved entities whose ids are new on every
-- request (tag, thread and a counter), so every batch creates `size` entities.
-- Options: path=/ngsi-ld/v1/entityOperations/upsert size=100 tag=run1 expect=201,204
local common = require("common")

local ENTITY = [[{"id":"urn:ngsi-ld:AirQualityObserved:%s-%d-%d","type":"AirQualityObserved",]]
  .. [["dateObserved":{"type":"Property","value":{"@type":"DateTime","@value":"2026-11-24T09:00:00Z"}},]]
  .. [["NO2":{"type":"Property","value":%d,"unitCode":"GQ","observedAt":"2026-11-24T09:00:00Z"},]]
  .. [["PM10":{"type":"Property","value":%d,"unitCode":"GQ","observedAt":"2026-11-24T09:00:00Z"},]]
  .. [["PM2_5":{"type":"Property","value":%d,"unitCode":"GQ","observedAt":"2026-11-24T09:00:00Z"},]]
  .. [["temperature":{"type":"Property","value":%.1f,"unitCode":"CEL"},]]
  .. [["relativeHumidity":{"type":"Property","value":%.2f,"unitCode":"P1"},]]
  .. [["airQualityLevel":{"type":"Property","value":"moderate"},]]
  .. [["location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[%.5f,%.5f]}}}]]

common.install_batch(ENTITY, function(items) return "[" .. items .. "]" end)
