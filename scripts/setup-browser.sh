#!/usr/bin/env bash
# Install Debian's Chromium for the app's end-to-end test (tests/test_app_e2e.py).
#
# Playwright drives it through `executable_path`: `playwright install` downloads its own browser
# builds, which this project's machines cannot fetch. Quick (no apt call) when already installed.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  chromium --version 2>/dev/null || true
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq chromium >/dev/null
chromium --version 2>/dev/null || true
