-- wrk script: every request carries a True-Client-IP. Returning clients: drawn at random from
-- STICKY_CLIENTS ids. New clients (STICKY_SEQUENTIAL=1): ids STICKY_BASE, STICKY_BASE+1, ... so a
-- fresh STICKY_BASE per run keeps every request a client no agent has seen (one wrk thread).
local clients = tonumber(os.getenv("STICKY_CLIENTS") or "100000")
local seq = tonumber(os.getenv("STICKY_SEQUENTIAL") or "0") == 1
local base = tonumber(os.getenv("STICKY_BASE") or "0")
local n = 0

request = function()
  local i
  if seq then
    i = base + n
    n = n + 1
  else
    i = base + math.random(0, clients - 1)
  end
  -- 24 bits per first octet, starting at 100.0.0.0: ids up to ~2.5e9 stay distinct.
  local o = 100 + math.floor(i / 16777216)
  local a = math.floor(i / 65536) % 256
  local b = math.floor(i / 256) % 256
  local c = i % 256
  return wrk.format("GET", "/", {["True-Client-IP"] = string.format("%d.%d.%d.%d", o, a, b, c)})
end
