#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs the daemon in the
# foreground on the shipped config (the database goes to var/ under this folder). Extra
# arguments go to `feedmerge run`, e.g. --config config/demo.toml for the offline demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
mkdir -p var
if [[ " $* " != *" --config "* ]]; then
  set -- --config config/feedmerge.toml "$@"
  # Its relative database ("feedmerge.db") resolves here, as under systemd's StateDirectory=.
  export STATE_DIRECTORY="${STATE_DIRECTORY:-$PWD/var}"
fi
exec build/feedmerge run "$@"
