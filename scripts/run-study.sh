#!/usr/bin/env bash
# Regenerate every result of the study (results/FINDINGS.md): run each experiment's sweep, then
# the findings tables, figures and validation checks (`webmodel findings`).
# About 23 minutes on 2 cores (38,468 runs).
#
#   scripts/run-study.sh              finish any sweep not complete (committed ones are kept),
#                                     then redraw the findings from the results
#   scripts/run-study.sh --fresh      delete the study's results first and run every sweep anew
#   scripts/run-study.sh --workers N  (any other option is passed to `webmodel sweep`)
set -euo pipefail
cd "$(dirname "$0")/.."
EXPERIMENTS=(surge disruptions web_ness fms_friction contracting ndis_levers sensitivity attack)
fresh=false
args=()
for arg in "$@"; do
  if [[ "$arg" == "--fresh" ]]; then fresh=true; else args+=("$arg"); fi
done
for name in "${EXPERIMENTS[@]}"; do
  if $fresh; then rm -rf "results/$name"; fi
  start=$SECONDS
  uv run webmodel sweep "experiments/$name.toml" ${args[@]+"${args[@]}"}
  echo "$name: $((SECONDS - start)) s" >&2
done
uv run webmodel findings
