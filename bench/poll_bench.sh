#!/usr/bin/env bash
# One command for the poll benchmark (bench/README.md, "Poll benchmark"): builds feedmerge
# (Release, in build-bench-poll/), installs newsboat if missing, generates the 1,000-feed corpus
# once, serves it on 127.0.0.1 (fetched once untimed, to warm the server's file cache), then runs
# side by side `feedmerge once --all` twice (first poll,
# then the conditional poll) and newsboat three times (it sends conditional requests only from
# its third run), and prints wall time, CPU time, peak RSS and items stored, the ratios against
# the targets, and which items newsboat stored that feedmerge did not. Takes about 3 minutes.
# Usage: bench/poll_bench.sh
# Environment: BENCH_BUILD_DIR (default build-bench-poll, built incrementally on each run), BENCH_CORPUS (default
# /tmp/feedmerge-poll-bench-corpus), BENCH_CONCURRENCY / BENCH_PER_HOST (feedmerge's [poll]
# concurrency and per_host, default 64 / 64), NEWSBOAT_THREADS (reload-threads, default 4),
# BENCH_PIN_SERVER=0 (leave the corpus server free to run on any CPU; pinned to CPU 0 by default),
# KEEP=1 keeps the work folder (databases, configs, /usr/bin/time output) and prints its path.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BENCH_BUILD_DIR:-build-bench-poll}
corpus=${BENCH_CORPUS:-/tmp/feedmerge-poll-bench-corpus}
concurrency=${BENCH_CONCURRENCY:-64}
per_host=${BENCH_PER_HOST:-64}
newsboat_threads=${NEWSBOAT_THREADS:-4}
feeds=1000

# Incremental: a no-op when the binary is up to date, so the figures are those of the tree.
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DFEEDMERGE_TESTS=OFF >/dev/null
fi
echo "poll_bench: building feedmerge (Release) in $build_dir" >&2
if ! cmake --build "$build_dir" -j2 --target feedmerge >"$build_dir/poll_bench_build.log" 2>&1; then
  tail -40 "$build_dir/poll_bench_build.log" >&2
  exit 1
fi
feedmerge=$PWD/$build_dir/feedmerge

if ! dpkg -s newsboat >/dev/null 2>&1; then
  echo "poll_bench: installing newsboat (apt-get install -y newsboat)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y newsboat >/dev/null
fi

corpus_ok() {  # the folder holds `gen-corpus --feeds 1000 --seed 1` with the default options
  /usr/bin/python3 -c 'import json, sys
try:
    c = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    sys.exit(1)
sys.exit(0 if (c.get("feeds"), c.get("seed"), c.get("items")) == (1000, 1, 29660) else 1)' \
    "$corpus/corpus.json"
}
if ! corpus_ok; then
  # Replace only what gen-corpus wrote before (it leaves a MANIFEST.tsv), never a stray folder.
  if [[ -d "$corpus" && -n "$(ls -A "$corpus")" && ! -f "$corpus/MANIFEST.tsv" ]]; then
    echo "poll_bench: $corpus exists and is not a gen-corpus folder; set BENCH_CORPUS" >&2
    exit 1
  fi
  echo "poll_bench: generating $feeds feeds in $corpus (about 25 s)" >&2
  rm -rf "$corpus"
  if ! scripts/gen-corpus --feeds "$feeds" --seed 1 --out "$corpus" \
    >"$corpus.log" 2>&1; then
    cat "$corpus.log" >&2
    exit 1
  fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/feedmerge-poll-bench.XXXXXX")
server_pid=
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ "${KEEP:-0}" == 1 ]]; then
    echo "poll_bench: kept $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The server is one Python process: its threads share one interpreter lock, so it never uses
# more than one CPU. Left free, its threads are woken on whichever of the 2 CPUs is idle and
# hand the lock across them, which costs it more than the requests themselves (curl's 1,000
# conditional requests: 0.24 s unpinned, 0.145 s pinned, on this machine). Pinned to one CPU, it
# is a steadier stand-in for a remote server; the clients keep every CPU, and meet the same
# server. BENCH_PIN_SERVER=0 leaves it free.
pin=()
if [[ "${BENCH_PIN_SERVER:-1}" == 1 && $(nproc) -ge 2 ]] && command -v taskset >/dev/null; then
  pin=(taskset -c 0)
fi
"${pin[@]}" scripts/gen-corpus --serve 0 --port-file "$work/port" --out "$corpus" \
  >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  [[ -s "$work/port" ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
port=$(cat "$work/port")
/usr/bin/python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())' \
  "http://127.0.0.1:$port/_urls.txt" >"$work/urls.txt"
if [[ $(grep -c '^http://127\.0\.0\.1:' "$work/urls.txt") -ne $feeds ]]; then
  echo "poll_bench: expected $feeds loopback URLs in /_urls.txt" >&2
  exit 1
fi

# The server reads each file on its first request and keeps it in memory: fetch everything once,
# untimed, so that every timed run (ours first, then newsboat's) meets the same warm server.
sed 's|.*|url = "&"\noutput = "/dev/null"|' "$work/urls.txt" >"$work/warm.cfg"
curl -s --parallel --parallel-max "$concurrency" -K "$work/warm.cfg"

# feedmerge: one local host, so per_host must allow as many fetches as concurrency does.
{
  cat <<EOF
[storage]
database = "$work/feedmerge.db"

[poll]
concurrency = $concurrency
per_host = $per_host
timeout = "120s"

[log]
level = "warn"
EOF
  while read -r url; do
    printf '\n[[feed]]\nurl = "%s"\n' "$url"
  done <"$work/urls.txt"
} >"$work/feedmerge.toml"

printf 'reload-threads %s\n' "$newsboat_threads" >"$work/newsboat.conf"

run() {  # run NAME COMMAND...: /usr/bin/time -v into NAME.time, output into NAME.out
  local name=$1
  shift
  echo "poll_bench: $name" >&2
  local rc=0
  /usr/bin/time -v -o "$work/$name.time" "$@" >"$work/$name.out" 2>&1 || rc=$?
  echo "$rc" >"$work/$name.rc"
}

# The two programs run one after the other, never at once: the machine has 2 cores.
run feedmerge-1 "$feedmerge" once --all --config "$work/feedmerge.toml"
run feedmerge-2 "$feedmerge" once --all --config "$work/feedmerge.toml"
# The server's floor for the conditional poll: curl alone sends the same 1,000 conditional
# requests (our stored ETags) with the same parallelism and discards the answers. No client
# that asks every feed can be faster than this against this server.
/usr/bin/python3 - "$work/feedmerge.db" >"$work/curl-conditional.cfg" <<'PY'
import sqlite3, sys
quote = lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
rows = sqlite3.connect(sys.argv[1]).execute("SELECT url, etag FROM feeds ORDER BY id").fetchall()
print("\nnext\n".join(f"url = {quote(u)}\nheader = {quote('If-None-Match: ' + e)}\n"
                     f"output = \"/dev/null\"\nwrite-out = \"%{{http_code}}\\n\"" for u, e in rows))
PY
run curl-conditional curl -s --no-progress-meter --parallel --parallel-max "$concurrency" -K "$work/curl-conditional.cfg"
for i in 1 2 3; do
  run "newsboat-$i" newsboat -C "$work/newsboat.conf" -u "$work/urls.txt" \
    -c "$work/newsboat.db" -x reload
done

echo >&2
/usr/bin/python3 bench/poll_bench.py --work "$work" --corpus "$corpus" \
  --server-cpus "$(if ((${#pin[@]})); then echo 0; else echo any; fi)" \
  --concurrency "$concurrency" --per-host "$per_host" --newsboat-threads "$newsboat_threads"
