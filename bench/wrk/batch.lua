-- POST /entityOperations/upsert with `size` AirQualityObserved entities whose ids are new on every
-- request (tag, thread and a counter), so every batch creates `size` entities.
-- Options: path=/ngsi-ld/v1/entityOperations/upsert size=100 tag=run1 expect=201,204
local common = require("common")

local headers = {["Content-Type"] = "application/json"}
local size, tag, counter = 100, "t", 0

local ENTITY = [[{"id":"urn:ngsi-ld:AirQualityObserved:%s-%d-%d","type":"AirQualityObserved",]]
  .. [["dateObserved":{"type":"Property","value":{"@type":"DateTime","@value":"2026-11-24T09:00:00Z"}},]]
  .. [["NO2":{"type":"Property","value":%d,"unitCode":"GQ","observedAt":"2026-11-24T09:00:00Z"},]]
  .. [["PM10":{"type":"Property","value":%d,"unitCode":"GQ","observedAt":"2026-11-24T09:00:00Z"},]]
  .. [["PM2_5":{"type":"Property","value":%d,"unitCode":"GQ","observedAt":"2026-11-24T09:00:00Z"},]]
  .. [["temperature":{"type":"Property","value":%.1f,"unitCode":"CEL"},]]
  .. [["relativeHumidity":{"type":"Property","value":%.2f,"unitCode":"P1"},]]
  .. [["airQualityLevel":{"type":"Property","value":"moderate"},]]
  .. [["location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[%.5f,%.5f]}}}]]

common.install(function(opts)
  size = tonumber(opts.size or "100")
  tag = (opts.tag or "t") .. "-" .. tostring(thread_no or 0)
end)

local function entity(n)
  return string.format(ENTITY, tag, counter, n, math.random(0, 200), math.random(0, 150),
    math.random(0, 80), math.random(0, 400) / 10, math.random(0, 100) / 100,
    135.4 + math.random() / 5, 34.8 + math.random() / 5)
end

function request()
  counter = counter + 1
  local items = {}
  for n = 1, size do items[n] = entity(n) end
  return wrk.format("POST", common.opts.path, headers, "[" .. table.concat(items, ",") .. "]")
end
