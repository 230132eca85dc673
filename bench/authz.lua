-- POST /authz/check for the caller, with access tokens of the seeded users.
package.path = "bench/?.lua;" .. package.path
local common = require("common")
local tokens = common.lines("bench/.work/access.txt")
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/api/v1/authz/check",
    { ["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1], ["Content-Type"] = "application/json" },
    '{"permissions":["users:read","roles:read"]}')
end
