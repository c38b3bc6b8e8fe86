-- NGSI-v2: POST /v2/op/update {"actionType": "append", "entities": [...]} with `size` new
-- AirQualityObserved entities per request (ids new on every request: tag, thread and a counter).
-- Options: path=/v2/op/update size=100 tag=run1 expect=204
local common = require("common")

local ENTITY = [[{"id":"urn:ngsi-ld:AirQualityObserved:v2-%s-%d-%d","type":"AirQualityObserved",]]
  .. [["dateObserved":{"type":"DateTime","value":"2026-11-24T09:00:00Z"},]]
  .. [["NO2":{"type":"Number","value":%d,"metadata":{"unitCode":{"type":"Text","value":"GQ"}}},]]
  .. [["PM10":{"type":"Number","value":%d,"metadata":{"unitCode":{"type":"Text","value":"GQ"}}},]]
  .. [["PM2_5":{"type":"Number","value":%d,"metadata":{"unitCode":{"type":"Text","value":"GQ"}}},]]
  .. [["temperature":{"type":"Number","value":%.1f},]]
  .. [["relativeHumidity":{"type":"Number","value":%.2f},]]
  .. [["airQualityLevel":{"type":"Text","value":"moderate"},]]
  .. [["location":{"type":"geo:json","value":{"type":"Point","coordinates":[%.5f,%.5f]}}}]]

common.install_batch(ENTITY, function(items) return '{"actionType":"append","entities":[' .. items .. ']}' end)
