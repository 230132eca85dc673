-- A paced variant of me.lua / authz.lua: each connection waits so that all
-- of them together offer about BENCH_RATE requests/s (wrk's delay()). The
-- achieved rate is what wrk reports; latencies exclude the wait.
-- BENCH_SCENARIO: "me" or "authz"; BENCH_CONNECTIONS: wrk's -c.
package.path = "bench/?.lua;" .. package.path
local common = require("common")
local tokens = common.lines("bench/.work/access.txt")
local scenario = os.getenv("BENCH_SCENARIO")
local interval = tonumber(os.getenv("BENCH_CONNECTIONS")) * 1000 / tonumber(os.getenv("BENCH_RATE"))
local n = 0
delay = function()
  return interval
end
request = function()
  n = n + 1
  local token = tokens[(n % #tokens) + 1]
  if scenario == "authz" then
    return wrk.format("POST", "/api/v1/authz/check",
      { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" },
      '{"permissions":["users:read","roles:read"]}')
  end
  return wrk.format("GET", "/api/v1/me", { ["Authorization"] = "Bearer " .. token })
end
