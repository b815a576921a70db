#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs feedmerge.
# Until the polling daemon lands (issue 3) this parses the bundled sample feed and prints what
# feedmerge understood of it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/feedmerge parse config/samples/tech-news.rss "$@"
