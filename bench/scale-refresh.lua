-- Refresh-token rotation for bench/scale.sh, as bench/refresh.lua but with
-- the token file named by BENCH_REFRESH_FILE (one token per line, one per
-- wrk thread): scale.sh signs in fresh users before every run, because the
-- token a thread held when the previous run stopped may already be spent
-- (a replayed token would revoke the session and turn the run into 401s).
local counter = 0
setup = function(thread)
  counter = counter + 1
  thread:set("id", counter)
end
init = function(args)
  local all = {}
  for line in io.lines(os.getenv("BENCH_REFRESH_FILE")) do all[#all + 1] = line end
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
