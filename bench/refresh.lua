-- Refresh-token rotation: each wrk thread owns one connection and one
-- session (BENCH_REFRESH_FILE, default bench/.work/refresh.txt, a token per
-- line), and sends the token the previous answer returned (a replayed token
-- would revoke the session, so the scripts sign in fresh sessions before
-- every run: the token a thread held when wrk stopped may be spent already).
package.path = "bench/?.lua;" .. package.path
local common = require("common")
local counter = 0
setup = function(thread)
  counter = counter + 1
  thread:set("id", counter)
end
init = function(args)
  local all = common.lines(os.getenv("BENCH_REFRESH_FILE") or "bench/.work/refresh.txt")
  token = all[id]
end
request = function()
  return wrk.format("POST", "/api/v1/auth/refresh", { ["Content-Type"] = "application/json" },
    '{"refresh_token":"' .. token .. '"}')
end
response = function(status, headers, body)
  if status == 200 then
    token = string.match(body, '"refresh_token":"([^"]+)"') or token
  end
end
