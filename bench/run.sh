#!/usr/bin/env bash
# Measures, side by side in one run with wrk (Debian package `wrk`):
#   GET /healthz            Veza's full middleware stack, no auth, no database
#   GET /api/v1/me          Veza: verify the Ed25519 access token + read the user (SQLite),
#                           with the default 2 s user cache and with it off
#   GET /verify (bare)      a bare axum route verifying the same token with the same code
#   GET /json   (bare)      a bare axum JSON route
#   POST /api/v1/auth/login logins/s, argon2id-bound, spread over ACCOUNTS accounts (default 64)
# Usage: bench/run.sh [seconds per run, default 10] [connections, default 32]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
CONNS="${2:-32}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/veza-target}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

cargo build -q --release -p veza-server -p veza-crypto --bin veza --example bare_verify
BIN="$CARGO_TARGET_DIR/release"
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT

# Veza with its defaults (SQLite), logs to a file. Both Veza processes share one public URL, the
# token issuer, as the nodes of a cluster do.
export VEZA_PUBLIC_URL=http://veza.bench
# Quotas no run reaches: this measures the request path, limiter included, not the limits
# (bench/rate_limits.sh measures those).
HIGH=1000000/1s
export VEZA_RATE_LIMIT_GLOBAL=$HIGH VEZA_RATE_LIMIT_ANONYMOUS=$HIGH VEZA_RATE_LIMIT_USER=$HIGH \
    VEZA_RATE_LIMIT_LOGIN=$HIGH VEZA_RATE_LIMIT_REGISTER=$HIGH
# Every login counts against its address before the password is checked (a success forgives
# it), so more parallel logins from one address than its free tries (20) would be throttled as
# guessing; the benchmark's one address is all its connections.
export VEZA_LOGIN_FAILURES_PER_ADDRESS=1000000
export ACCOUNTS="${ACCOUNTS:-64}"
VEZA_ADDR=127.0.0.1:0 VEZA_DATA_DIR="$WORK/data" "$BIN/veza" serve >"$WORK/veza.out" 2>"$WORK/veza.log" &
until grep -q listening "$WORK/veza.out" 2>/dev/null; do sleep 0.1; done
VEZA=$(sed -n 's/^veza listening on //p' "$WORK/veza.out")

curl -sf -X POST "$VEZA/api/v1/auth/register" -H 'content-type: application/json' \
    -d '{"username":"bench","email":"bench@example.com","password":"bench-password-long"}' >"$WORK/reg.json"
TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tokens"]["access_token"])' "$WORK/reg.json")
for i in $(seq 0 $((ACCOUNTS - 1))); do # the accounts the login run takes turns with
    curl -sf -X POST "$VEZA/api/v1/auth/register" -H 'content-type: application/json' \
        -d "{\"username\":\"bench$i\",\"email\":\"bench$i@example.com\",\"password\":\"bench-password-long\"}" >/dev/null
done

# A second Veza on the same data (same key and database) with the user cache off.
VEZA_ADDR=127.0.0.1:0 VEZA_DATA_DIR="$WORK/data" VEZA_USER_CACHE_TTL_MS=0 "$BIN/veza" serve >"$WORK/nocache.out" 2>>"$WORK/veza.log" &
until grep -q listening "$WORK/nocache.out" 2>/dev/null; do sleep 0.1; done
NOCACHE=$(sed -n 's/^veza listening on //p' "$WORK/nocache.out")

"$BIN/examples/bare_verify" "$WORK/data/secrets/jwt-ed25519.pk8" "$VEZA_PUBLIC_URL" >"$WORK/bare.out" &
until grep -q listening "$WORK/bare.out" 2>/dev/null; do sleep 0.1; done
BARE=$(sed -n 's/^listening on //p' "$WORK/bare.out")
curl -sf -H "Authorization: Bearer $TOKEN" "$BARE/verify" >/dev/null   # the bare server accepts the token
curl -sf -H "Authorization: Bearer $TOKEN" "$VEZA/api/v1/me" >/dev/null
curl -sf -H "Authorization: Bearer $TOKEN" "$NOCACHE/api/v1/me" >/dev/null

run() { # key, name, url, extra wrk args...
    local key=$1 name=$2 url=$3; shift 3
    local out; out=$(wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$@" "$url")
    local rps p99 non2xx
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    printf '| %-38s | %10s | %8s | %s |\n' "$name" "$rps" "$p99" "${non2xx:-0}"
    echo "$rps" >"$WORK/rps.$key"
    if [ -n "$non2xx" ]; then failed=1; fi
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/ {print $2}') GiB"
echo "wrk: 1 thread, $CONNS connections, ${DURATION}s per run; Veza release build, default config (SQLite)"
echo
printf '| %-38s | %10s | %8s | %s |\n' "route" "req/s" "p99" "non-2xx"
printf '|%s|%s|%s|%s|\n' "----------------------------------------" "------------" "----------" "---------"
failed=0
run json "GET /json (bare axum)" "$BARE/json"
run verify "GET /verify (bare, Ed25519 JWT)" "$BARE/verify" -H "Authorization: Bearer $TOKEN"
run healthz "GET /healthz (veza)" "$VEZA/healthz"
run me "GET /api/v1/me (veza)" "$VEZA/api/v1/me" -H "Authorization: Bearer $TOKEN"
run me_nocache "GET /api/v1/me (veza, user cache off)" "$NOCACHE/api/v1/me" -H "Authorization: Bearer $TOKEN"
run login "POST /api/v1/auth/login (veza)" "$VEZA/api/v1/auth/login" -s bench/login.lua
echo
python3 - "$WORK" <<'PY'
import sys, pathlib
w = pathlib.Path(sys.argv[1])
rps = lambda n: float((w / f"rps.{n}").read_text())
me, bare = rps("me"), rps("verify")
print(f"me / bare token-verifying route: {me / bare:.2f}x (target >= 0.70)")
print(f"me without the user cache / bare token-verifying route: {rps('me_nocache') / bare:.2f}x")
PY
[ "$failed" -eq 0 ] || { echo "some runs had non-2xx answers: the numbers above are not valid" >&2; exit 1; }
