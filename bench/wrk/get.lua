-- GET one entity (or any path with {id}) chosen at random per request.
-- Options: path=/ngsi-ld/v1/entities/{id} id_format=... n=1000 expect=200 body_prefix={
local common = require("common")
common.install()

function request()
  return wrk.format("GET", common.path_for(common.random_id()), {["Accept"] = "application/json"})
end
