#!/usr/bin/env bash
# Regenerate every result of the study (results/FINDINGS.md): run each experiment's sweep, the
# robustness sweeps (experiments/robustness/, into results/robustness/NAME), then the findings
# tables, figures and checks (`webmodel findings`: robustness table, each state's exposure with
# its stress test, the 155mm ramp).
# Measured for the re-run of Dec 2026: 46,508 runs, about 15.5 minutes from first sweep to last
# table on 2 cores (--workers 2, one sweep after another); per sweep in results/FINDINGS.md,
# "Regenerate everything".
#
#   scripts/run-study.sh              finish any sweep not complete (committed ones are kept),
#                                     then redraw the findings from the results
#   scripts/run-study.sh --fresh      delete the study's results first and run every sweep anew
#   scripts/run-study.sh --workers N  (any other option is passed to `webmodel sweep`)
set -euo pipefail
cd "$(dirname "$0")/.."
EXPERIMENTS=(surge disruptions web_ness fms_friction contracting ndis_levers sensitivity attack
  indo_pacific)
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
start=$SECONDS
for file in experiments/robustness/*.toml; do
  name=$(basename "$file" .toml)
  if $fresh; then rm -rf "results/robustness/$name"; fi
  uv run webmodel sweep "$file" --out "results/robustness/$name" ${args[@]+"${args[@]}"}
done
echo "robustness: $((SECONDS - start)) s" >&2
start=$SECONDS
uv run webmodel findings
echo "findings: $((SECONDS - start)) s" >&2
