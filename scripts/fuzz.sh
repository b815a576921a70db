#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/) and runs each for SECONDS (default 60)
# from a seed corpus: fuzz/seeds/, the parse fixtures and the small files of the real
# corpus for the parsers; date strings and the config files for fuzz_date and fuzz_config.
# TARGETS="date config" runs only those. Prints one line per target; exits 1 when a target finds a crash, leak or timeout,
# naming the reproducer. Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (fuzz/README.md has more)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
jobs=${JOBS:-$(nproc)}
work=fuzz  # corpus-<target>/ and corpus-artifacts/ below it are in .gitignore
real_corpus=tests/data/corpus/real
werror=OFF
[[ "${CI:-}" == "true" ]] && werror=ON

CC=clang CXX=clang++ cmake -S . -B "$build_dir" -DCMAKE_CXX_COMPILER=clang++ \
  -DFEEDMERGE_FUZZ=ON -DFEEDMERGE_TESTS=OFF -DFEEDMERGE_WERROR="$werror" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=(${TARGETS:-xml json date config sanitize url})
cmake --build "$build_dir" -j "$jobs" $(printf -- '--target fuzz_%s ' "${targets[@]}")

# UBSan only reports and carries on unless told to stop; a report must count as a finding.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

seed_tmp=$(mktemp -d "${TMPDIR:-/tmp}/feedmerge-fuzz-seeds.XXXXXX")
trap 'rm -rf "$seed_tmp"' EXIT

# The targets read their first byte as a selector (Content-Type, document URL), so every seed is
# written twice: behind selector 0 (no header, no URL) and behind a varying one.
add_seeds() {  # add_seeds TARGET FILE...
  local target=$1 n=0 f name
  shift
  mkdir -p "$seed_tmp/$target"
  for f in "$@"; do
    [[ -f "$f" ]] || continue
    (($(stat -c %s "$f") < 200 * 1024)) || continue
    n=$((n + 1))
    name=$(printf '%04d-%s' "$n" "$(basename "$f")")
    { printf '\000'; cat "$f"; } >"$seed_tmp/$target/$name.a"
    # shellcheck disable=SC2059  # the format is an octal escape built on purpose
    { printf "\\$(printf '%03o' $((n % 31 + 1)))"; cat "$f"; } >"$seed_tmp/$target/$name.b"
  done
}

mapfile -t xml_files < <(
  find fuzz/seeds/xml tests/data/parse "$real_corpus" -type f \
    \( -name '*.xml' -o -name '*.rss' -o -name '*.atom' -o -name '*.rdf' \) 2>/dev/null | sort)
mapfile -t json_files < <(
  find fuzz/seeds/json tests/data/parse "$real_corpus" -type f -name '*.json' \
    ! -name '*.expected.json' 2>/dev/null | sort)
add_seeds xml "${xml_files[@]}"
add_seeds json "${json_files[@]}"

# fuzz_date and fuzz_config read the whole input as text: their seeds go in as they are.
plain_seeds() {  # plain_seeds TARGET FILE...
  local target=$1 f
  shift
  mkdir -p "$seed_tmp/$target"
  for f in "$@"; do
    [[ -f "$f" ]] && cp "$f" "$seed_tmp/$target/$(basename "$(dirname "$f")")-$(basename "$f")"
  done
  return 0
}
mapfile -t date_files < <(find fuzz/seeds/date -type f | sort)
mapfile -t config_files < <(find config tests/data/config -type f -name '*.toml' | sort)
plain_seeds date "${date_files[@]}"
plain_seeds config "${config_files[@]}"
# fuzz_sanitize reads HTML: the hostile HTML cases and the content of the parse fixtures.
mapfile -t html_files < <(find fuzz/seeds/html tests/data/hostile/html tests/data/publish -type f \
  2>/dev/null | sort)
plain_seeds sanitize "${html_files[@]}"
# fuzz_url reads one URL: the canonicalisation table's own cases.
mkdir -p "$seed_tmp/url"
grep -ohE 'https?://[^" ]+' tests/dedup/canonical_url_test.cpp 2>/dev/null | sort -u |
  awk -v dir="$seed_tmp/url" '{ f = sprintf("%s/%04d", dir, NR); printf "%s", $0 > f; close(f) }'

artifacts="$work/corpus-artifacts"
mkdir -p "$artifacts"
status=0
for target in "${targets[@]}"; do
  bin="$build_dir/fuzz_$target"
  corpus="$work/corpus-$target"
  log="$artifacts/fuzz_$target.log"
  mkdir -p "$corpus"
  args=(-max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10
        -print_final_stats=1 -artifact_prefix="$artifacts/fuzz_$target-")
  [[ -f "fuzz/$target.dict" ]] && args+=(-dict="fuzz/$target.dict")
  seeds=$(find "$seed_tmp/$target" -type f | wc -l)
  rc=0
  # New inputs go to the first directory (kept between runs); the seeds are only read.
  "$bin" "${args[@]}" "$corpus" "$seed_tmp/$target" >"$log" 2>&1 || rc=$?
  # A missing statistic is printed as '?': grep finding nothing must not end the script.
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  cov=$({ grep -o 'cov: [0-9]*' "$log" || true; } | tail -1 | cut -d' ' -f2)
  files=$(find "$corpus" -type f | wc -l)
  crash=$({ grep -o 'Test unit written to [^ ]*' "$log" || true; } | tail -1 | sed 's/Test unit written to //')
  if ((rc == 0)); then
    printf 'fuzz_%s: OK, %ss, %s runs (%s/s), cov %s, corpus %s files (%s seeds), peak RSS %s MB\n' \
      "$target" "$seconds" "${runs:-?}" "${speed:-?}" "${cov:-?}" "$files" "$seeds" "${rss:-?}"
  else
    status=1
    printf 'fuzz_%s: FAILED (exit %s) after %s runs: reproducer %s, log %s\n' \
      "$target" "$rc" "${runs:-?}" "${crash:-none written}" "$log"
    grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|fuzz check failed' \
      "$log" | sed 's/^/  /' || true
    [[ -n "$crash" ]] && echo "  reproduce: $bin $crash"
  fi
done
exit "$status"
