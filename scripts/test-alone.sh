#!/usr/bin/env bash
# Runs the README's test command (scripts/test.sh) in a copy of this repository that has
# nothing beside it, to prove that a fresh clone passes on its own: no test, script or build
# file may read a sibling folder or anything else outside the clone. Fails when a test is skipped or
# not run (ctest's "Not Run", a skip code, doctest's skipped cases) as well as when one fails.
# The copy holds the files git tracks, as they are in the work tree. Extra arguments go to
# scripts/test.sh. KEEP=1 keeps the copy (its path is printed).
set -euo pipefail
cd "$(dirname "$0")/.."

alone=$(mktemp -d "${TMPDIR:-/tmp}/feedmerge-alone.XXXXXX")
[[ "${KEEP:-}" == "1" ]] || trap 'rm -rf "$alone"' EXIT
mkdir "$alone/feedmerge"
# Tracked files only: an untracked file that a test needs would pass here and fail in CI.
git ls-files -z | tar --null --ignore-failed-read -T - -cf - | tar -xf - -C "$alone/feedmerge"
if [[ -e "$alone/shared" ]]; then
  echo "test-alone: $alone has a shared/ beside the copy" >&2
  exit 1
fi
echo "test-alone: testing a copy in $alone/feedmerge (nothing beside it)"

# ccache keys on paths relative to the copy, so a warm cache from the work tree still helps.
export CCACHE_BASEDIR="$alone/feedmerge" CCACHE_NOHASHDIR=1
log="$alone/test.log"
set +e
(cd "$alone/feedmerge" && scripts/test.sh "$@") 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if ((status != 0)); then
  echo "test-alone: the test command failed in the copy (exit $status)" >&2
  exit "$status"
fi
if grep -Eq '\*\*\*Not Run|\*\*\*Skipped|Not Run \(|[1-9][0-9]* skipped' "$log"; then
  echo "test-alone: a test was skipped or not run in the copy:" >&2
  grep -E '\*\*\*Not Run|\*\*\*Skipped|Not Run \(|[1-9][0-9]* skipped' "$log" >&2
  exit 1
fi
grep -Eq '^100% tests passed, 0 tests failed out of [0-9]+' "$log" || {
  echo "test-alone: no closing '100% tests passed' line from ctest" >&2
  exit 1
}
