-- wrk script: POST a login for the benchmark user (argon2id-bound).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"login":"bench","password":"bench-password-long"}'
