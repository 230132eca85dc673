-- Registration with a fresh address each time (thread id + counter).
local counter = 0
setup = function(thread)
  counter = counter + 1
  thread:set("id", counter)
end
local n = 0
request = function()
  n = n + 1
  local email = "r" .. id .. "-" .. n .. "-" .. os.time() .. "@bench.example"
  return wrk.format("POST", "/api/v1/auth/register",
    { ["Content-Type"] = "application/json", ["X-Tenant-ID"] = "bench" },
    '{"email":"' .. email .. '","password":"bench-password-' .. n .. '-Zq"}')
end
