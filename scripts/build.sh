#!/usr/bin/env bash
# Configures and builds feedmerge into BUILD_DIR (default: build). Extra arguments go to cmake's
# configure step, e.g. scripts/build.sh -DFEEDMERGE_SANITIZE=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}
werror=OFF
[[ "${CI:-}" == "true" ]] && werror=ON
cmake -S . -B "$build_dir" -DFEEDMERGE_WERROR="$werror" "$@" >/dev/null
cmake --build "$build_dir" -j "$jobs"
