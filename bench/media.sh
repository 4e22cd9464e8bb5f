#!/usr/bin/env bash
# Tracks, measured side by side in one run:
#   1. Wall time from upload complete (the 201) to `ready` for a 5-minute track, against the very
#      ffmpeg command Veza ran (read from its debug log) run bare on the same file: what the job
#      queue, storage, masters, loudness and waveform add. Rounds alternate the two.
#   2. Segment requests/s: Veza's /media route (signature check, storage read, headers) against
#      nginx serving the same file from the same folder, alternating, with wrk.
#   3. Veza's memory (RSS, sampled every 20 ms) during a 500 MB upload, against before it.
# Usage: bench/media.sh [rounds, default 3] [seconds per wrk run, default 10] [connections, default 32]
# BENCH_PARTS picks parts (default "ladder segments memory"; not VEZA_*, which Veza reads).
# Needs ffmpeg, wrk, nginx, curl and python3 (Debian: apt-get install ffmpeg wrk nginx-light curl).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"
DURATION="${2:-10}"
CONNS="${3:-32}"
PARTS="${BENCH_PARTS:-ladder segments memory}"
TRACK_SECS=300
BIG_SECS=2830 # 16-bit stereo 44.1 kHz WAV: 499 MB, just under the default upload limit
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/veza-target}"
for tool in ffmpeg wrk nginx curl python3; do
    command -v "$tool" >/dev/null || { echo "$tool is needed (Debian: apt-get install ffmpeg wrk nginx-light curl)" >&2; exit 1; }
done

cargo build -q --release -p veza-server --bin veza
BIN="$CARGO_TARGET_DIR/release/veza"
WORK=$(mktemp -d)
chmod 755 "$WORK" # nginx's workers run as another user and read the media files from here
cleanup() {
    kill $(jobs -p) 2>/dev/null || true
    [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
    rm -rf "$WORK" || true
}
trap cleanup EXIT

tone() { # seconds, output file, codec args...
    local secs=$1 out=$2; shift 2
    ffmpeg -v error -y -f lavfi -i "sine=frequency=440:duration=$secs" -f lavfi -i "anoisesrc=d=$secs:a=0.05" \
        -filter_complex '[0][1]amix=inputs=2,aformat=channel_layouts=stereo' -ar 44100 "$@" "$out"
}
tone "$TRACK_SECS" "$WORK/track.flac" -c:a flac

export VEZA_ADDR=127.0.0.1:0 VEZA_RATE_LIMITS=false VEZA_LOG_FORMAT=json VEZA_TRANSCODE_CONCURRENCY=1
start() { # name, env assignments... → prints the base URL; the pid goes to $WORK/name.pid
    local name=$1; shift
    env VEZA_DATA_DIR="$WORK/$name" "$@" "$BIN" serve >"$WORK/$name.out" 2>"$WORK/$name.log" &
    echo $! >"$WORK/$name.pid"
    until grep -q listening "$WORK/$name.out" 2>/dev/null; do
        kill -0 "$(cat "$WORK/$name.pid")" 2>/dev/null || { cat "$WORK/$name.log" >&2; exit 1; }
        sleep 0.1
    done
    sed -n 's/^veza listening on //p' "$WORK/$name.out"
}
URL=$(start veza RUST_LOG=info,veza_media=debug)
TOKEN=$(curl -sf -X POST "$URL/api/v1/auth/register" -H 'content-type: application/json' \
    -d '{"username":"bench","email":"bench@example.com","password":"bench-password-long"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens"]["access_token"])')
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# --- 1. upload complete → ready, against the bare ffmpeg command ------------------------------
veza_run() { # → seconds from the upload's answer to `ready`; the track id in $WORK/last_id
    local id t0 state
    id=$(curl -sf -H "Authorization: Bearer $TOKEN" -F "file=@$WORK/track.flac" "$URL/api/v1/tracks" | field '["id"]')
    t0=$(date +%s.%N)
    while state=$(curl -sf -H "Authorization: Bearer $TOKEN" "$URL/api/v1/tracks/$id" | field '["state"]'); [ "$state" = processing ]; do
        sleep 0.02
    done
    [ "$state" = ready ] || { echo "track $id ended $state" >&2; exit 1; }
    echo "$id" >"$WORK/last_id"
    python3 -c "import time; print(f'{time.time() - $t0:.2f}')"
}
bare_run() { # → seconds of Veza's last ffmpeg command, run bare (PCM branch to /dev/null)
    python3 - "$WORK" <<'PY'
import json, pathlib, shutil, subprocess, sys, time
work = pathlib.Path(sys.argv[1])
line = [l for l in (work / "veza.log").read_text().splitlines() if '"transcoding"' in l][-1]
args = json.loads(json.loads(line)["args"])
original = args[args.index("-i") + 1]
scratch = str(pathlib.Path(original).parent)          # Veza's (removed) scratch folder
bare = work / "bare"
shutil.rmtree(bare, ignore_errors=True)
args = [a.replace(scratch, str(bare)) for a in args]
args = ["/dev/null" if a == "pipe:1" else a for a in args]
i = args.index("-progress"); del args[i:i + 2]
for a in args:                                        # the output folders ffmpeg expects
    if a.startswith(str(bare) + "/out/"):
        pathlib.Path(a).parent.mkdir(parents=True, exist_ok=True)
shutil.copy(work / "track.flac", bare / "original")
t0 = time.time()
subprocess.run(["ffmpeg", "-y", *args], check=True)
print(f"{time.time() - t0:.2f}")
PY
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/ {print $2}') GiB; $(ffmpeg -version | head -1 | cut -d' ' -f1-3)"
echo "Veza release build, SQLite, local storage, 1 transcode at a time; a ${TRACK_SECS}-s stereo FLAC ($(du -h "$WORK/track.flac" | cut -f1))"
veza_run >/dev/null # warm-up: caches, the command line for the bare runs, a track to serve
if [[ " $PARTS " == *" ladder "* ]]; then
echo
echo "| round | upload complete → ready (Veza) | same ffmpeg command, bare | overhead |"
echo "|-------|--------------------------------|---------------------------|----------|"
for round in $(seq 1 "$ROUNDS"); do
    v=$(veza_run)
    b=$(bare_run)
    echo "$v $b" >>"$WORK/ladder"
    printf '| %-5s | %28ss | %24ss | %+7.1f%% |\n' "$round" "$v" "$b" "$(python3 -c "print(($v / $b - 1) * 100)")"
done
python3 - "$WORK/ladder" <<'PY'
import statistics, sys
runs = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
v = statistics.median(r[0] for r in runs); b = statistics.median(r[1] for r in runs)
print(f"\nmedians: Veza {v:.2f} s, bare ffmpeg {b:.2f} s: overhead {(v / b - 1) * 100:+.1f}% (target ≤ +10%)")
PY
fi

# --- 2. segment requests/s: Veza's /media against nginx ---------------------------------------
if [[ " $PARTS " == *" segments "* ]]; then
ID=$(cat "$WORK/last_id")
MASTER=$(curl -sf "$URL/api/v1/tracks/$ID/stream" | field '["hls_aac"]')
VARIANT="${MASTER%/*}/$(curl -sf "$MASTER" | grep -v '^#' | head -1)"
SEGMENT="${VARIANT%/*}/$(curl -sf "$VARIANT" | grep -v '^#' | grep m4s | head -1)"
FILE_PATH="tracks/$ID/aac/${SEGMENT#*/aac/*/*/}"
[ -f "$WORK/veza/media/$FILE_PATH" ] || { echo "no segment file at $FILE_PATH" >&2; exit 1; }
NGINX_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx.conf" <<EOF
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    types { audio/mp4 m4s; application/vnd.apple.mpegurl m3u8; }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $WORK/veza/media;
        etag on;
        add_header Cache-Control "public, max-age=31536000, immutable";
    }
}
EOF
nginx -c "$WORK/nginx.conf" -p "$WORK/nginx"
for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$NGINX_PORT/$FILE_PATH" && break; sleep 0.1; done
curl -sf -o /dev/null "http://127.0.0.1:$NGINX_PORT/$FILE_PATH" || { echo "nginx does not serve the segment" >&2; exit 1; }
cmp <(curl -sf "$SEGMENT") <(curl -sf "http://127.0.0.1:$NGINX_PORT/$FILE_PATH") || { echo "the two servers differ" >&2; exit 1; }
echo
echo "one $(stat -c %s "$WORK/veza/media/$FILE_PATH")-byte segment; wrk: 1 thread, $CONNS connections, ${DURATION}s per run"
echo
echo "| round | server | req/s | p99 | non-2xx |"
echo "|-------|--------|-------|-----|---------|"
for round in $(seq 1 "$ROUNDS"); do
    for server in veza nginx; do
        [ "$server" = veza ] && target=$SEGMENT || target="http://127.0.0.1:$NGINX_PORT/$FILE_PATH"
        out=$(wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$target")
        rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        echo "$rps" >>"$WORK/rps.$server"
        printf '| %s | %s | %s | %s | %s |\n' "$round" "$server" "$rps" "$(awk '$1 == "99%" {print $2}' <<<"$out")" \
            "$(awk '/Non-2xx/ {print $NF}' <<<"$out" | grep . || echo 0)"
    done
done
python3 - "$WORK" <<'PY'
import statistics, sys
w = sys.argv[1]
v, n = (statistics.median(float(x) for x in open(f"{w}/rps.{s}")) for s in ("veza", "nginx"))
print(f"\nmedians: Veza {v:.0f} req/s, nginx {n:.0f} req/s: {v / n:.2f}× nginx (target ≥ 0.9×)")
PY
fi

# --- 3. memory during a 500 MB upload ---------------------------------------------------------
[[ " $PARTS " == *" memory "* ]] || exit 0
kill "$(cat "$WORK/veza.pid")"
tone "$BIG_SECS" "$WORK/big.wav" -c:a pcm_s16le
URL=$(start memory)
PID=$(cat "$WORK/memory.pid")
TOKEN=$(curl -sf -X POST "$URL/api/v1/auth/register" -H 'content-type: application/json' \
    -d '{"username":"bench","email":"bench@example.com","password":"bench-password-long"}' | field '["tokens"]["access_token"]')
curl -sf -H "Authorization: Bearer $TOKEN" "$URL/api/v1/me" >/dev/null
python3 - "$PID" "$URL" "$TOKEN" "$WORK/big.wav" <<'PY'
import subprocess, sys, threading, time
pid, url, token, big = sys.argv[1:]
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
before = rss(); peak = before; done = False
def sample():
    global peak
    while not done:
        peak = max(peak, rss()); time.sleep(0.02)
t = threading.Thread(target=sample); t.start()
t0 = time.time()
out = subprocess.run(["curl", "-sf", "-o", "/dev/null", "-w", "%{http_code}", "-H", f"Authorization: Bearer {token}",
                      "-F", f"file=@{big}", f"{url}/api/v1/tracks"], capture_output=True, text=True)
elapsed = time.time() - t0
done = True; t.join()
size = __import__("os").path.getsize(big)
mib = lambda b: b / 1048576
print(f"\n{size / 1e6:.0f} MB WAV uploaded with curl in {elapsed:.1f} s (answer {out.stdout}); Veza's RSS: "
      f"{mib(before):.1f} MiB before, {mib(peak):.1f} MiB at most during the upload: grew by {mib(peak - before):.1f} MiB (target < 64 MiB)")
PY
