-- Refresh-token rotation: each wrk thread owns one connection and one
-- session (bench/.work/refresh.txt, a token per line), and sends the token
-- the previous answer returned (a replayed token would revoke the session).
package.path = "bench/?.lua;" .. package.path
local common = require("common")
local counter = 0
local threads = {}
setup = function(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end
init = function(args)
  local all = common.lines("bench/.work/refresh.txt")
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
