-- Appends a batch to one room's history, atomically (switchboard-redis).
-- KEYS[1]: the room's stream; KEYS[2]: its meta hash (epoch, offset);
-- KEYS[3]: the batch's record (its id's key: "{first offset}:{epoch}").
-- ARGV[1]: a new random epoch, used only if the room has none;
-- ARGV[2]: the time to live in ms; ARGV[3]: the size (messages kept);
-- ARGV[4]: how long the batch's record is kept, in ms;
-- ARGV[5..]: the messages, in order.
-- Returns {epoch, offset of the batch's first message}.
-- A batch whose record is still there was kept already (a retry whose
-- first try's answer was lost): answer where it went, keep nothing.
local seen = redis.call('GET', KEYS[3])
if seen then
  local colon = string.find(seen, ':', 1, true)
  return {string.sub(seen, colon + 1), tonumber(string.sub(seen, 1, colon - 1))}
end
local ttl = tonumber(ARGV[2])
local size = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local count = #ARGV - 4
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
-- Drop what expired. An epoch lives as long as one of its messages does:
-- with none left, the room starts a new epoch at offset 1.
redis.call('XTRIM', KEYS[1], 'MINID', now - ttl + 1)
if redis.call('XLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[2])
end
if redis.call('HSETNX', KEYS[2], 'epoch', ARGV[1]) == 1 then
  -- A new epoch: nothing of an older one may stay beside it.
  redis.call('DEL', KEYS[1])
end
local last = redis.call('HINCRBY', KEYS[2], 'offset', count)
local first = last - count + 1
for i = 1, count do
  -- Auto ids: an entry's id is the time it was kept, in ms.
  redis.call('XADD', KEYS[1], '*', 'o', first + i - 1, 'm', ARGV[4 + i])
end
redis.call('XTRIM', KEYS[1], 'MAXLEN', size)
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
local epoch = redis.call('HGET', KEYS[2], 'epoch')
redis.call('SET', KEYS[3], string.format('%d:%s', first, epoch), 'PX', window)
return {epoch, first}
