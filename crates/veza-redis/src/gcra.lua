-- GCRA over a batch of requests, atomically. ARGV[1] is the number of requests; then, for each
-- request, its number of buckets n followed by n pairs (emission interval in microseconds,
-- limit = burst). KEYS holds every request's buckets, in the same order.
-- A bucket stores its theoretical arrival time (TAT) in microseconds of the Redis server's clock,
-- so nodes with skewed clocks agree. Each request charges its buckets in order and stops at the
-- first that refuses: later buckets of that request are untouched. Requests run one after the
-- other, so two requests for one bucket in a batch see each other.
-- Returns, per request, per bucket checked: {1, remaining, reset_after_us} or
-- {0, retry_after_us, reset_after_us}.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local results = {}
local k = 1
local a = 2
for r = 1, tonumber(ARGV[1]) do
  local n = tonumber(ARGV[a])
  a = a + 1
  local out = {}
  local refused = false
  for _ = 1, n do
    if not refused then
      local key = KEYS[k]
      local interval = tonumber(ARGV[a])
      local limit = tonumber(ARGV[a + 1])
      local period = interval * limit
      local tat = tonumber(redis.call('GET', key)) or now
      if tat < now then
        tat = now
      end
      local new_tat = tat + interval
      local allow_at = new_tat - period
      if now < allow_at then
        out[#out + 1] = {0, allow_at - now, tat - now}
        refused = true
      else
        -- The key lives exactly as long as the bucket is not full: no key is a full bucket.
        redis.call('SET', key, new_tat, 'PX', math.ceil((new_tat - now) / 1000))
        out[#out + 1] = {1, math.floor((period - (new_tat - now)) / interval), new_tat - now}
      end
    end
    k = k + 1
    a = a + 2
  end
  results[r] = out
end
return results
