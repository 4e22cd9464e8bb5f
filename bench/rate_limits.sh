#!/usr/bin/env bash
# The cost and the accuracy of rate limiting, measured side by side in one run with wrk:
#   1. GET /api/v1/me (authenticated) with the limiter off, in-process, and shared through Redis,
#      with quotas high enough never to refuse: what checking costs. Rounds alternate the three
#      so that the machine's drift hits them alike.
#   2. One client hammering /api/v1/me against a tight per-user quota, in-process and through
#      Redis: how many requests got through, against what the policy allows (burst + rate × time).
# Usage: bench/rate_limits.sh [seconds per run, default 10] [connections, default 32] [rounds, default 2]
# Needs wrk and a Redis on 127.0.0.1:6379 (started here when none answers).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
CONNS="${2:-32}"
ROUNDS="${3:-2}"
TIGHT_LIMIT=200   # per second, per user: the accuracy runs' policy
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/veza-target}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
REDIS_URL="${VEZA_BENCH_REDIS_URL:-redis://127.0.0.1:6379/}"
if [ "$(redis-cli -u "$REDIS_URL" ping 2>/dev/null)" != PONG ]; then
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /tmp --logfile /tmp/veza-bench-redis.log
    until [ "$(redis-cli -u "$REDIS_URL" ping 2>/dev/null)" = PONG ]; do sleep 0.2; done
fi

cargo build -q --release -p veza-server --bin veza
BIN="$CARGO_TARGET_DIR/release/veza"
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT
PREFIX="veza-bench:$$:"

# Every node serves the same data dir (one database, one signing key), as a cluster's nodes do.
export VEZA_PUBLIC_URL=http://veza.bench VEZA_DATA_DIR="$WORK/data" VEZA_ADDR=127.0.0.1:0
HIGH=1000000/1s   # one request per microsecond: never reached here
export VEZA_RATE_LIMIT_GLOBAL=$HIGH VEZA_RATE_LIMIT_ANONYMOUS=$HIGH VEZA_RATE_LIMIT_USER=$HIGH \
    VEZA_RATE_LIMIT_API_KEY=$HIGH VEZA_RATE_LIMIT_REGISTER=$HIGH VEZA_RATE_LIMIT_LOGIN=$HIGH
start() { # name, env assignments...
    local name=$1; shift
    env "$@" "$BIN" serve >"$WORK/$name.out" 2>>"$WORK/veza.log" &
    until grep -q listening "$WORK/$name.out" 2>/dev/null; do sleep 0.1; done
    sed -n 's/^veza listening on //p' "$WORK/$name.out"
}
OFF=$(start off VEZA_RATE_LIMITS=false)
LOCAL=$(start local)
REDIS=$(start redis VEZA_REDIS_URL="$REDIS_URL" VEZA_RATE_LIMIT_REDIS_PREFIX="$PREFIX")
LOCAL_TIGHT=$(start local_tight VEZA_RATE_LIMIT_USER=$TIGHT_LIMIT/1s)
REDIS_TIGHT=$(start redis_tight VEZA_RATE_LIMIT_USER=$TIGHT_LIMIT/1s VEZA_REDIS_URL="$REDIS_URL" VEZA_RATE_LIMIT_REDIS_PREFIX="$PREFIX")

token() { # username → access token of a fresh account
    curl -sf -X POST "$OFF/api/v1/auth/register" -H 'content-type: application/json' \
        -d "{\"username\":\"$1\",\"email\":\"$1@example.com\",\"password\":\"bench-password-long\"}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens"]["access_token"])'
}
TOKEN=$(token bench)
for url in "$OFF" "$LOCAL" "$REDIS"; do curl -sf -H "Authorization: Bearer $TOKEN" "$url/api/v1/me" >/dev/null; done
curl -sfi -H "Authorization: Bearer $TOKEN" "$REDIS/api/v1/me" | grep -qi '^x-ratelimit-bucket' ||
    { echo "the Redis node sends no rate-limit headers" >&2; exit 1; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/ {print $2}') GiB"
echo "wrk: 1 thread, $CONNS connections, ${DURATION}s per run, $ROUNDS rounds; Veza release build, SQLite; $(redis-server --version | cut -d' ' -f1-3) on the same machine"
echo
printf '| %-5s | %-40s | %10s | %8s | %s |\n' round "GET /api/v1/me" "req/s" "p99" "non-2xx"
printf '|%s|%s|%s|%s|%s|\n' "-------" "------------------------------------------" "------------" "----------" "---------"
failed=0
for round in $(seq 1 "$ROUNDS"); do
    for mode in off local redis; do
        case $mode in off) url=$OFF label="limiter off" ;; local) url=$LOCAL label="in-process limiter (governor)" ;;
                      redis) url=$REDIS label="shared limiter (Redis, one Lua call)" ;; esac
        out=$(wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" "$url/api/v1/me")
        rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
        non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
        printf '| %-5s | %-40s | %10s | %8s | %s |\n' "$round" "$label" "$rps" "$p99" "${non2xx:-0}"
        echo "$rps" >>"$WORK/rps.$mode"
        [ -z "$non2xx" ] || failed=1
    done
done
echo
python3 - "$WORK" <<'PY'
import sys, pathlib
w = pathlib.Path(sys.argv[1])
runs = {m: [float(x) for x in (w / f"rps.{m}").read_text().split()] for m in ("off", "local", "redis")}
for m, target in (("local", 0.95), ("redis", 0.80)):
    ratios = [x / off for x, off in zip(runs[m], runs["off"])]
    print(f"{m:5} / off per round: {', '.join(f'{r:.2f}x' for r in ratios)}; "
          f"mean {sum(runs[m]) / sum(runs['off']):.2f}x (target >= {target:.2f})")
PY
[ "$failed" -eq 0 ] || { echo "some throughput runs had non-2xx answers: the numbers above are not valid" >&2; exit 1; }

echo
echo "One client (4 connections, one account) against a per-user quota of $TIGHT_LIMIT/s (burst $TIGHT_LIMIT), ${DURATION}s:"
printf '| %-22s | %9s | %9s | %8s | %9s | %s |\n' limiter admitted refused expected "admitted/s" "vs policy"
printf '|%s|%s|%s|%s|%s|%s|\n' "------------------------" "-----------" "-----------" "----------" "------------" "-----------"
for mode in local redis; do
    case $mode in local) url=$LOCAL_TIGHT label="in-process" ;; redis) url=$REDIS_TIGHT label="Redis" ;; esac
    user_token=$(token "single_$mode")
    out=$(wrk -t1 -c4 -d"${DURATION}s" -s bench/count_statuses.lua -H "Authorization: Bearer $user_token" "$url/api/v1/me")
    line=$(grep '^statuses' <<<"$out")
    python3 - "$line" "$DURATION" "$TIGHT_LIMIT" "$label" <<'PY'
import sys, re
line, duration, limit, label = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
counts = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", line))
# GCRA: the whole burst at once, then one request per interval for the rest of the run.
expected = limit + limit * duration
admitted = counts["ok"]
print(f"| {label:22} | {admitted:9d} | {counts['limited']:9d} | {expected:8.0f} | "
      f"{(admitted - limit) / duration:10.1f} | {admitted / expected:.3f}x |")
if counts["other"]:
    print(f"  {counts['other']} answers were neither 200 nor 429", file=sys.stderr)
    sys.exit(1)
PY
done
