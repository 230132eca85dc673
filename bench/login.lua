-- Password sign-in as one of the seeded users (bench/users.txt: email per line).
package.path = "bench/?.lua;" .. package.path
local common = require("common")
local users = common.lines("bench/.work/users.txt")
local password = os.getenv("BENCH_PASSWORD")
local n = 0
request = function()
  n = n + 1
  local email = users[(n % #users) + 1]
  return wrk.format("POST", "/api/v1/auth/login",
    { ["Content-Type"] = "application/json", ["X-Tenant-ID"] = "bench" },
    '{"identifier":"' .. email .. '","password":"' .. password .. '"}')
end
