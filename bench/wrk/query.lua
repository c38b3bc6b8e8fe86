-- The same query over and over, e.g. path=/ngsi-ld/v1/entities?type=WeatherObserved&q=...&limit=100
-- Options: path=... expect=200 body_prefix=[{   (a page that is not empty)
local common = require("common")
common.install()

function request()
  return wrk.format("GET", common.opts.path, {["Accept"] = "application/json"})
end
