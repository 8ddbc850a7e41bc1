-- wrk script: every request carries a True-Client-IP drawn from STICKY_CLIENTS distinct clients
-- (default 1,000,000), as a CDN edge multiplexing many clients would send them.
local clients = tonumber(os.getenv("STICKY_CLIENTS") or "1000000")
local seq = tonumber(os.getenv("STICKY_SEQUENTIAL") or "0") == 1
-- A prefill is several wrk runs: each starts where the last one stopped (STICKY_OFFSET), so
-- the table really fills with distinct clients.
local n = tonumber(os.getenv("STICKY_OFFSET") or "0")

function setup(thread)
  thread:set("id", math.random(0, 1000))
end

request = function()
  local i
  if seq then
    n = n + 1
    i = n % clients
  else
    i = math.random(0, clients - 1)
  end
  local a = math.floor(i / 65536) % 256
  local b = math.floor(i / 256) % 256
  local c = i % 256
  return wrk.format("GET", "/", {["True-Client-IP"] = string.format("100.%d.%d.%d", a, b, c)})
end
