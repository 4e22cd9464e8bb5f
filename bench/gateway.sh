#!/usr/bin/env bash
# Gateway delivery latency and memory per connection: Veza (full pipeline: permission checks,
# SQLite persistence, per-session sequence and resume buffer) against the bare tokio WebSocket
# broadcast server, both driven by the same `veza-loadgen` in one run.
#
# Usage: bench/gateway.sh [CLIENTS] [ROOM_SIZE] [RATES] [SECONDS] [PROCESSES]
#   e.g. bench/gateway.sh 10000 100 200,500,1000 15
# PROCESSES spreads the load generator's connections over that many worker processes (a process
# may hold at most 20,000 open files here: use 2 or more past about 19,000 clients).
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${1:-10000}
ROOM=${2:-100}
RATES=${3:-200,500,1000}
SECONDS_PER_RATE=${4:-15}
PROCESSES=${5:-1}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/veza-target}
cargo build --release -q -p veza-server -p veza-loadgen
BIN=$CARGO_TARGET_DIR/release
# Each side holds one socket per client: raise the open-file limit as far as allowed.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

DATA=$(mktemp -d)
cleanup() { kill "${VEZA_PID:-}" "${BARE_PID:-}" 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT

VEZA_ADDR=127.0.0.1:18080 VEZA_DATA_DIR="$DATA" VEZA_DATABASE_URL="sqlite://$DATA/veza.db" \
  VEZA_RATE_LIMITS=false RUST_LOG=warn "$BIN/veza" serve > "$DATA/veza.out" 2>&1 &
VEZA_PID=$!
"$BIN/veza-loadgen" bare --addr 127.0.0.1:19000 > "$DATA/bare.out" 2>&1 &
BARE_PID=$!
for _ in $(seq 50); do grep -q listening "$DATA/veza.out" 2>/dev/null && grep -q listening "$DATA/bare.out" && break; sleep 0.2; done

echo "machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB, $(uname -sr)"
echo "--- bare"
"$BIN/veza-loadgen" run --target bare --url http://127.0.0.1:19000 --clients "$CLIENTS" --room-size "$ROOM" \
  --rates "$RATES" --seconds "$SECONDS_PER_RATE" --warmup 3 --sources 4 --processes "$PROCESSES" --server-pid "$BARE_PID"
echo "--- veza"
"$BIN/veza-loadgen" run --target veza --url http://127.0.0.1:18080 --clients "$CLIENTS" --room-size "$ROOM" \
  --rates "$RATES" --seconds "$SECONDS_PER_RATE" --warmup 3 --sources 4 --processes "$PROCESSES" --server-pid "$VEZA_PID"
