-- A pin's move, written only when Redis holds no newer version of it (the agent's RedisClient
-- sends it with EVALSHA, EVAL when Redis answers NOSCRIPT). Why: a move whose reply was lost to a
-- command timeout is queued and sent again later; by then another agent may have moved the pin
-- further, and a plain SET would put the older move back. One round trip, atomic in Redis.
--
-- KEYS[1]  the pin's key
-- ARGV[1]  the record (a msgpack map, store/entry_codec.h; field "n" is its version)
-- ARGV[2]  TTL in milliseconds
-- ARGV[3]  the record's version
-- Returns 1 when written; otherwise {0, the stored record, its PTTL}: the stored version is at
-- least ours (our own earlier attempt, or someone else's newer move).

-- The stored record's "n", or nil when it cannot be read (then it is overwritten, as before).
-- Redis's cmsgpack cannot decode the bin type the key is stored as, so the map is walked here:
-- string keys, scalar values (the format's; an unknown nested field makes it unreadable).
local function stored_version(s)
  local pos = 1
  local function byte() local b = string.byte(s, pos); pos = pos + 1; return b end
  local function uint(n) local v = 0; for _ = 1, n do v = v * 256 + byte() end; return v end
  local function length(b)  -- the length of a str or bin whose type byte is b, or nil
    if b >= 0xa0 and b <= 0xbf then return b - 0xa0 end
    if b == 0xd9 or b == 0xc4 then return uint(1) end
    if b == 0xda or b == 0xc5 then return uint(2) end
    if b == 0xdb or b == 0xc6 then return uint(4) end
    return nil
  end
  local b = byte()
  if not b then return nil end
  local entries
  if b >= 0x80 and b <= 0x8f then entries = b - 0x80 elseif b == 0xde then entries = uint(2) else return nil end
  for _ = 1, entries do
    local kb = byte()
    local klen = kb and length(kb)
    if not klen then return nil end
    local key = string.sub(s, pos, pos + klen - 1)
    pos = pos + klen
    local vb = byte()
    if not vb then return nil end
    local value
    if vb <= 0x7f then value = vb
    elseif vb == 0xcc then value = uint(1)
    elseif vb == 0xcd then value = uint(2)
    elseif vb == 0xce then value = uint(4)
    elseif vb == 0xcf then value = uint(8)
    elseif vb >= 0xe0 or vb == 0xc0 or vb == 0xc2 or vb == 0xc3 then value = false
    elseif vb == 0xd0 then pos = pos + 1
    elseif vb == 0xd1 then pos = pos + 2
    elseif vb == 0xd2 or vb == 0xca then pos = pos + 4
    elseif vb == 0xd3 or vb == 0xcb then pos = pos + 8
    else
      local vlen = length(vb)
      if not vlen then return nil end  -- a nested container
      pos = pos + vlen
    end
    if key == 'n' then
      if type(value) == 'number' then return value end
      return nil
    end
    if pos > #s + 1 then return nil end
  end
  return nil
end

local stored = redis.call('GET', KEYS[1])
if stored then
  local version = stored_version(stored)
  if version and version >= tonumber(ARGV[3]) then
    return {0, stored, redis.call('PTTL', KEYS[1])}
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
