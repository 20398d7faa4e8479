#!/usr/bin/env bash
# Regenerate every result of the study (results/FINDINGS.md): run each experiment's sweep
# (resuming any that was interrupted), then the findings tables, figures and validation checks.
# About 23 minutes on 2 cores (38,468 runs). Usage: scripts/run-study.sh [--workers N]
set -euo pipefail
cd "$(dirname "$0")/.."
EXPERIMENTS=(surge disruptions web_ness fms_friction contracting ndis_levers sensitivity attack)
for name in "${EXPERIMENTS[@]}"; do
  start=$SECONDS
  uv run webmodel sweep "experiments/$name.toml" "$@"
  echo "$name: $((SECONDS - start)) s" >&2
done
uv run webmodel findings
