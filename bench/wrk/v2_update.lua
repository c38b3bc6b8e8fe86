-- NGSI-v2: PATCH /v2/entities/{id}/attrs of a random entity with a varying value:
-- body {"occupancy": {"value": N}} (the attribute named by attr=).
-- Options: path=/v2/entities/{id}/attrs attr=occupancy id_format=... n=1000 expect=204
local common = require("common")

local headers = {["Content-Type"] = "application/json"}
local attr = "occupancy"

common.install(function(opts)
  attr = opts.attr or "occupancy"
end)

function request()
  local body = string.format('{"%s": {"value": %d}}', attr, math.random(0, 1000000))
  return wrk.format("PATCH", common.path_for(common.random_id()), headers, body)
end
