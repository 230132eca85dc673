-- Password sign-in spread over the tenants of `azth dev seed` (bench/scale.sh):
-- each request picks a random tenant `seed-NNNNNN` (1..BENCH_TENANTS) and a
-- random user `user<n>@seed-NNNNNN.example` (1..BENCH_PER_TENANT) in it, and
-- names the tenant in X-Tenant-ID. Random rather than sequential, so that on
-- the large database nearly every request meets a tenant and a user row not
-- touched before (cold tenant cache, pages spread over the whole table).
local tenants = tonumber(os.getenv("BENCH_TENANTS"))
local per_tenant = tonumber(os.getenv("BENCH_PER_TENANT"))
local password = os.getenv("BENCH_PASSWORD")
local counter = 0
setup = function(thread)
  counter = counter + 1
  thread:set("id", counter)
end
init = function(args)
  -- One stream per thread: the threads must not replay the same sequence.
  math.randomseed(os.time() * 1000 + id * 7919)
end
request = function()
  local slug = string.format("seed-%06d", math.random(1, tenants))
  local email = "user" .. math.random(1, per_tenant) .. "@" .. slug .. ".example"
  return wrk.format("POST", "/api/v1/auth/login",
    { ["Content-Type"] = "application/json", ["X-Tenant-ID"] = slug },
    '{"identifier":"' .. email .. '","password":"' .. password .. '"}')
end
