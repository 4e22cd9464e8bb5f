-- GCRA over several buckets, atomically. KEYS[i] is a bucket; ARGV[2i-1] its emission interval
-- in microseconds, ARGV[2i] its limit (= burst). A bucket stores its theoretical arrival time
-- (TAT) in microseconds of the Redis server's clock, so nodes with skewed clocks agree.
-- Buckets are charged in order; the first that refuses ends the script, later ones untouched.
-- Returns, per bucket checked: {1, remaining, reset_after_us} or {0, retry_after_us, reset_after_us}.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local results = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local limit = tonumber(ARGV[2 * i])
  local period = interval * limit
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then
    tat = now
  end
  local new_tat = tat + interval
  local allow_at = new_tat - period
  if now < allow_at then
    results[#results + 1] = {0, allow_at - now, tat - now}
    return results
  end
  -- The key lives exactly as long as the bucket is not full: an expired key is a full bucket.
  redis.call('SET', key, new_tat, 'PX', math.ceil((new_tat - now) / 1000))
  results[#results + 1] = {1, math.floor((period - (new_tat - now)) / interval), new_tat - now}
end
return results
