-- Forgives one counter: all its failures (ARGV[1] = 1), or only one (ARGV[1] = 0), lifting its
-- delay when it falls back under its free failures (ARGV[2]).
if ARGV[1] == '1' then
  redis.call('DEL', KEYS[1])
  return 0
end
local failures = redis.call('HINCRBY', KEYS[1], 'f', -1)
if failures <= 0 then
  redis.call('DEL', KEYS[1])
elseif failures < tonumber(ARGV[2]) then
  redis.call('HDEL', KEYS[1], 'w')
end
return 0
