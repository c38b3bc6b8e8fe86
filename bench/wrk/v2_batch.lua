-- NGSI-v2: POST /v2/op/update {"actionType": "append", "entities": [...]} with `size` new
-- AirQualityObserved entities per request (ids new on every request: tag, thread and a counter).
-- Options: path=/v2/op/update size=100 tag=run1 expect=204
local common = require("common")

local headers = {["Content-Type"] = "application/json"}
local size, tag, counter = 100, "t", 0

local ENTITY = [[{"id":"urn:ngsi-ld:AirQualityObserved:v2-%s-%d-%d","type":"AirQualityObserved",]]
  .. [["dateObserved":{"type":"DateTime","value":"2026-11-24T09:00:00Z"},]]
  .. [["NO2":{"type":"Number","value":%d,"metadata":{"unitCode":{"type":"Text","value":"GQ"}}},]]
  .. [["PM10":{"type":"Number","value":%d,"metadata":{"unitCode":{"type":"Text","value":"GQ"}}},]]
  .. [["PM2_5":{"type":"Number","value":%d,"metadata":{"unitCode":{"type":"Text","value":"GQ"}}},]]
  .. [["temperature":{"type":"Number","value":%.1f},]]
  .. [["relativeHumidity":{"type":"Number","value":%.2f},]]
  .. [["airQualityLevel":{"type":"Text","value":"moderate"},]]
  .. [["location":{"type":"geo:json","value":{"type":"Point","coordinates":[%.5f,%.5f]}}}]]

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
  return wrk.format("POST", common.opts.path, headers,
    '{"actionType":"append","entities":[' .. table.concat(items, ",") .. ']}')
end
