#!/usr/bin/env bash
# Story assignment benchmark: 100,000 items from gen-corpus (--dup-rate, --span-days 60)
# replayed in publication order through dedup (features + StoryIndex), one core.
# Prints items/s, peak RSS, the cost per item of the first and last 10,000 items, and the
# index size and RSS every 10,000 items (memory follows the window, not the history).
#   bench/dedup_bench.sh [BUILD_DIR]    (FEEDS=3400 DUP_RATE=0.15 WINDOW=72h to change)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
feeds="${FEEDS:-3400}"
corpus="${CORPUS:-/tmp/feedmerge-dedup-bench-$feeds}"
cmake --build "$build" -j2 --target dedup_replay >/dev/null
if [ ! -f "$corpus/corpus.json" ]; then
  scripts/gen-corpus --feeds "$feeds" --out "$corpus" --seed 1 \
    --dup-rate "${DUP_RATE:-0.15}" --span-days 60 >/dev/null
fi
taskset -c 0 "$build/dedup_replay" --window "${WINDOW:-72h}" --progress 10000 "$corpus"
