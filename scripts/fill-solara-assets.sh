#!/usr/bin/env bash
# Fill Solara's front-end asset cache from the npm registry, so `webmodel app` runs offline.
#
# The cache goes to $WEBMODEL_ASSETS_DIR, else ~/.cache/webmodel/solara-assets (see
# webmodel/app/assets.py and docs/app.md). Quick when already filled: nothing is downloaded again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null 2>&1; then
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    SUDO=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq npm >/dev/null
fi

if command -v uv >/dev/null 2>&1; then
  uv run webmodel assets "$@"
else
  python3 -m uv run webmodel assets "$@"
fi
