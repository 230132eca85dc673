-- GET /me with access tokens of the seeded users (bench/.work/access.txt).
package.path = "bench/?.lua;" .. package.path
local common = require("common")
local tokens = common.lines("bench/.work/access.txt")
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/v1/me", { ["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1] })
end
