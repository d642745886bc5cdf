#!/usr/bin/env bash
# Real projects at pinned versions, built cold and hot and explained: see bench/real_projects.py.
set -euo pipefail
exec python3 "$(dirname "$0")/real_projects.py" "$@"
