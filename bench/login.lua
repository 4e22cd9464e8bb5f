-- wrk script: POST logins, each for the next of the benchmark's ACCOUNTS accounts in turn
-- (argon2id-bound). Spreading them keeps the brute-force throttle, which rightly treats many
-- parallel logins of one account as guesses, out of a throughput measurement.
local accounts = tonumber(os.getenv("ACCOUNTS") or "64")
local n = 0
request = function()
    n = n + 1
    local body = string.format('{"login":"bench%d","password":"bench-password-long"}', n % accounts)
    return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end
