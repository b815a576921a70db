#!/usr/bin/env bash
# The README's second command: installs what is missing (test tools too), builds, and runs
# every test under CTest. BUILD_DIR and extra cmake arguments as for scripts/build.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
scripts/build.sh "$@"
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j "${JOBS:-$(nproc)}"
