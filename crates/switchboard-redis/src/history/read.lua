-- Reads one room's history (switchboard-redis).
-- KEYS[1]: the room's stream; KEYS[2]: its meta hash (epoch, offset).
-- ARGV[1]: since (an offset); ARGV[2]: limit; ARGV[3]: the time to live
-- in ms.
-- Returns false when nothing is kept, else {epoch, latest offset, oldest
-- kept offset, then offset and message of each entry after since, at
-- most limit of them}.
local meta = redis.call('HMGET', KEYS[2], 'epoch', 'offset')
if not meta[1] then
  return false
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local min = now - tonumber(ARGV[3]) + 1
-- Entries hold their fields in the order XADD gave them: o, m.
local oldest = redis.call('XRANGE', KEYS[1], min, '+', 'COUNT', 1)
if #oldest == 0 then
  return false
end
local latest = tonumber(meta[2])
local first = tonumber(oldest[1][2][2])
local since = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local out = {meta[1], latest, first}
if limit > 0 and since < latest then
  -- Offsets are consecutive from the oldest kept entry on.
  local skip = math.max(0, since + 1 - first)
  local entries = redis.call('XRANGE', KEYS[1], min, '+', 'COUNT', skip + limit)
  for i = skip + 1, #entries do
    out[#out + 1] = tonumber(entries[i][2][2])
    out[#out + 1] = entries[i][2][4]
  end
end
return out
