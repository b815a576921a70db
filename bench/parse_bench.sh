#!/usr/bin/env bash
# One command for the parse benchmark (bench/README.md): builds bench_parse (Release, in
# build-bench/), generates the synthetic corpus once, then times feedmerge, a plain pugixml walk
# and python3-feedparser on the shared real corpus and on the synthetic one, and prints one
# table with the ratios against the targets. Usage: bench/parse_bench.sh
# Environment: BENCH_BUILD_DIR, BENCH_SYNTHETIC (corpus folder), BENCH_FEEDS (default 2000),
# FEEDPARSER_MAX_MB (feedparser subsample of the synthetic corpus, default 30), ROUNDS and
# MIN_SECONDS (bench_parse: best of ROUNDS rounds of at least MIN_SECONDS CPU seconds per mode).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BENCH_BUILD_DIR:-build-bench}
synthetic=${BENCH_SYNTHETIC:-/tmp/feedmerge-bench-corpus}
feeds=${BENCH_FEEDS:-2000}
real=tests/data/corpus/real
feedparser_max_mb=${FEEDPARSER_MAX_MB:-30}
min_seconds=${MIN_SECONDS:-2}
rounds=${ROUNDS:-3}

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DFEEDMERGE_TESTS=OFF >/dev/null
cmake --build "$build_dir" -j "${JOBS:-$(nproc)}" --target bench_parse >/dev/null

if ! grep -qs "\"feeds\": $feeds," "$synthetic/corpus.json"; then
  # Replace only what gen-corpus wrote before (it leaves a MANIFEST.tsv), never a stray folder.
  if [[ -d "$synthetic" && -n "$(ls -A "$synthetic")" && ! -f "$synthetic/MANIFEST.tsv" ]]; then
    echo "parse_bench: $synthetic exists and is not a gen-corpus folder; set BENCH_SYNTHETIC" >&2
    exit 1
  fi
  echo "parse_bench: generating $feeds synthetic feeds in $synthetic (about 40 s)" >&2
  rm -rf "$synthetic"
  scripts/gen-corpus --feeds "$feeds" --out "$synthetic" --seed 1 >/dev/null
fi

results=$(mktemp "${TMPDIR:-/tmp}/feedmerge-parse-bench.XXXXXX")
trap 'rm -f "$results"' EXIT

# bench_parse interleaves its modes (best of 3 rounds each); feedparser runs after it. All rates
# are per CPU second of the benchmarking process, so other load on the machine matters less.
run() {  # run LABEL DIR
  local label=$1 dir=$2
  "$build_dir/bench_parse" --rounds "$rounds" --min-seconds "$min_seconds" --label "$label" "$dir"
  local max_mb=0
  [[ "$label" == synthetic ]] && max_mb=$feedparser_max_mb
  /usr/bin/python3 bench/feedparser_bench.py --max-mb "$max_mb" --label "$label" "$dir"
}
{
  run real "$real"
  run synthetic "$synthetic"
} | tee "$results" | grep -v '^RESULT '

echo
/usr/bin/python3 - "$results" <<'EOF'
import sys

rows = []
for line in open(sys.argv[1]):
    if not line.startswith("RESULT "):
        continue
    fields = dict(kv.split("=", 1) for kv in line.split()[1:])
    rows.append(fields)

print("MB/s and items/s per CPU second; peak RSS of the process (corpus in memory included)")
print(f"{'corpus':<10} {'mode':<16} {'files':>6} {'MB':>8} {'items':>7} {'MB/s':>9} "
      f"{'items/s':>10} {'peak RSS MB':>11}")
for r in rows:
    note = "  (subsample)" if r.get("sampled") == "1" else ""
    print(f"{r['corpus']:<10} {r['mode']:<16} {int(r['files']):>6} {int(r['bytes']) / 1e6:>8.1f} "
          f"{int(r['items']):>7} {float(r['mb_per_s']):>9.1f} {float(r['items_per_s']):>10.0f} "
          f"{int(r['peak_rss_kb']) / 1024:>11.0f}{note}")

print()
for corpus in dict.fromkeys(r["corpus"] for r in rows):
    by_mode = {r["mode"]: r for r in rows if r["corpus"] == corpus}
    ours = by_mode.get("feedmerge-xml")
    if not ours:
        continue
    for other, target, name in (("feedparser-xml", 100.0, "ours/feedparser"),
                                ("pugixml-walk", 0.25, "ours/pugixml-walk"),
                                ("pugixml-minimal", None, "ours/pugixml-min")):
        if other not in by_mode:
            continue
        mb = float(ours["mb_per_s"]) / float(by_mode[other]["mb_per_s"])
        items = float(ours["items_per_s"]) / float(by_mode[other]["items_per_s"] or "nan")
        if target is None:
            shown, verdict = f"{mb * 100:.0f}%", "for information"
        elif target >= 1:
            shown = f"{mb:.1f}x"
            verdict = f"target >= {target:.0f}x: " + ("meets" if mb >= target else "BELOW")
        else:
            shown = f"{mb * 100:.0f}%"
            verdict = f"target >= {target * 100:.0f}%: " + ("meets" if mb >= target else "BELOW")
        print(f"{corpus:<10} {name:<18} XML MB/s {shown:>7}  items/s {items:.2f}x  ({verdict})")
    walk = by_mode.get("pugixml-walk")
    if walk and walk["items"] != ours["items"]:
        print(f"{corpus:<10} note: items differ, feedmerge {ours['items']} vs pugixml walk "
              f"{walk['items']} (failures: {ours['failures']} vs {walk['failures']})")
EOF
