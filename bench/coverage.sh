#!/usr/bin/env bash
# Line coverage of the whole workspace with cargo-tarpaulin's LLVM engine: everything is built
# with `-C instrument-coverage` (the toolchain's own profiler runtime; no llvm-tools needed, as
# tarpaulin reads the counters itself) and every process writes its counters as it exits — the
# test binaries, and the `veza` nodes the black-box tests start, which the test kit stops with
# SIGTERM under a coverage run instead of killing them, and whose counters are mapped through
# `--objects`. Installs cargo-tarpaulin when missing. Builds everything again in a target
# directory of its own (about 20 minutes on 2 cores), runs the suite (about as long as
# scripts/test), writes tarpaulin-report.json and prints the figure per crate.
# Needs what scripts/test needs (run it once first): PostgreSQL, Redis, ffmpeg, the venv.
#
#   bench/coverage.sh [OUTPUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-tarpaulin >/dev/null || cargo install --locked cargo-tarpaulin@0.37.5
export CARGO_TARGET_DIR="${VEZA_COVERAGE_TARGET_DIR:-$HOME/.cache/veza-cov-target}"
export VEZA_TEST_POSTGRES_URL="${VEZA_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export VEZA_TEST_REDIS_URL="${VEZA_TEST_REDIS_URL:-redis://127.0.0.1:6379/}"
export VEZA_TEST_PYTHON="${VEZA_TEST_PYTHON:-$HOME/.cache/veza-venv/bin/python}"
OUT="${1:-$CARGO_TARGET_DIR/coverage}"
mkdir -p "$OUT"
# The npm packages the browser and social sign-in tests drive (scripts/test installs them too).
[ -d crates/veza-testkit/js/node_modules/playwright-core ] \
  || (cd crates/veza-testkit/js && npm ci --no-audit --no-fund --loglevel=error)
# The `veza` binary the black-box tests run, built first so that its path can be named.
cargo tarpaulin --engine llvm --skip-clean --no-run -p veza-server >/dev/null
veza=$(find "$CARGO_TARGET_DIR" -type f -name veza -perm -u+x -path '*/debug/*' | head -n 1)
[ -n "$veza" ] || { echo "no instrumented veza binary under $CARGO_TARGET_DIR" >&2; exit 1; }
cargo tarpaulin --workspace --engine llvm --skip-clean --no-fail-fast --timeout 900 \
  --objects "$veza" --exclude-files 'crates/veza-testkit/*' --exclude-files 'crates/*/tests/*' \
  --exclude-files 'crates/*/examples/*' --out Json --out Stdout --output-dir "$OUT" -- --test-threads 2 \
  > "$OUT/tarpaulin.log" 2>&1 || true
tail -n 5 "$OUT/tarpaulin.log"
python3 - "$OUT/tarpaulin-report.json" <<'PY'
import collections, json, sys
report = json.load(open(sys.argv[1]))
per_crate = collections.defaultdict(lambda: [0, 0])
for f in report["files"]:
    path = "/".join(f["path"])
    if "crates/" not in path:
        continue
    crate = path[path.index("crates/"):].split("/")[1]
    per_crate[crate][0] += f["covered"]
    per_crate[crate][1] += f["coverable"]
total = [0, 0]
for crate, (covered, coverable) in sorted(per_crate.items()):
    total[0] += covered
    total[1] += coverable
    print(f"| {crate} | {covered:,} / {coverable:,} | {100 * covered / max(coverable, 1):.1f} % |")
print(f"| workspace | {total[0]:,} / {total[1]:,} | {100 * total[0] / max(total[1], 1):.1f} % |")
PY
