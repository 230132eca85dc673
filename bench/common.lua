-- Shared by the wrk scenarios: reads one value per line from a file.
local M = {}
function M.lines(path)
  local t = {}
  for line in io.lines(path) do t[#t + 1] = line end
  return t
end
return M
