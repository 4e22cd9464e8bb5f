#!/usr/bin/env bash
# Measures the account-security hot paths in process, on real databases (the auth_costs example):
# refresh-token rotation, TOTP verification (and its database work and crypto apart), and
# password logins at the production argon2id parameters. SQLite always; PostgreSQL too when
# VEZA_BENCH_POSTGRES_URL (a superuser URL; a scratch database is created and dropped) is set or
# the test suite's default is reachable.
# Usage: bench/account_security.sh [seconds per run, default 5] [concurrent tasks, default 16]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-5}"
TASKS="${2:-16}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/veza-target}"
PG="${VEZA_BENCH_POSTGRES_URL:-${VEZA_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}}"

cargo build -q --release -p veza-server --example auth_costs
BIN="$CARGO_TARGET_DIR/release/examples/auth_costs"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/ {print $2}') GiB"
echo
"$BIN" "" "$SECS" "$TASKS"
if psql "$PG" -Atqc 'SELECT 1' >/dev/null 2>&1; then
    db="veza_bench_$$"
    psql "$PG" -qc "CREATE DATABASE $db" >/dev/null
    trap 'psql "$PG" -qc "DROP DATABASE IF EXISTS $db" >/dev/null' EXIT
    echo
    "$BIN" "${PG%/*}/$db" "$SECS" "$TASKS"
else
    echo "(PostgreSQL not reachable at $PG: skipped)"
fi
