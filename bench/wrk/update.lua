-- PATCH one attribute of a random entity with a varying value: body {"value": N}.
-- Options: path=/ngsi-ld/v1/entities/{id}/attrs/occupancy id_format=... n=1000 expect=204
local common = require("common")
common.install()

local headers = {["Content-Type"] = "application/json"}

function request()
  local body = string.format('{"value": %d}', math.random(0, 1000000))
  return wrk.format("PATCH", common.path_for(common.random_id()), headers, body)
end
