-- Brute-force counters: refuse when any counter is in its delay, else count one failure against
-- every counter in advance. KEYS are the counters (hashes: f = failures, w = waiting until, in
-- microseconds of the Redis server's clock); ARGV holds four numbers per key: free failures,
-- first delay (µs), longest delay (µs), and how long an idle counter is kept (ms).
-- Returns {0, wait_us} when refused, {1, delay_us} when allowed, where delay_us is the delay
-- this attempt starts on the first counter (-1: none).
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local wait = 0
for _, key in ipairs(KEYS) do
  local until_us = tonumber(redis.call('HGET', key, 'w'))
  if until_us and until_us - now > wait then
    wait = until_us - now
  end
end
if wait > 0 then
  return {0, wait}
end
local first = -1
for i, key in ipairs(KEYS) do
  local free = tonumber(ARGV[4 * i - 3])
  local base = tonumber(ARGV[4 * i - 2])
  local longest = tonumber(ARGV[4 * i - 1])
  local keep = tonumber(ARGV[4 * i])
  local failures = redis.call('HINCRBY', key, 'f', 1)
  local delay = -1
  if failures >= free then
    delay = base * 2 ^ math.min(failures - free, 40)
    if delay > longest then
      delay = longest
    end
    redis.call('HSET', key, 'w', now + delay)
  else
    redis.call('HDEL', key, 'w')
  end
  redis.call('PEXPIRE', key, keep)
  if i == 1 then
    first = delay
  end
end
return {1, first}
