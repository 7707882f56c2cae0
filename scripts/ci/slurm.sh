#!/usr/bin/env bash
# scripts/ci/slurm.sh: CI stage "Slurm" (issue 5, acceptance 1-3): installs Slurm (slurm-wlm + munge, with
# apt-get, as root) and starts a 2-node local cluster with scripts/local_slurm.sh, runs
# scripts/tests/test_slurm.sh (slurm.pl against the live cluster: arrays spread over both nodes, failing,
# cancelled and never-run tasks, interrupted driver) and scripts/tests/test_recipes_slurm.sh (the recipes with
# --cmd slurm.pl: same accuracy as run.pl, model sets identical to --nj 1, both nodes used, wall time within 2x),
# then always stops the cluster, also on failure or interrupt.  Exits non-zero if either test failed.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
export CEPSTRA_SLURM_DIR=${CEPSTRA_SLURM_DIR:-/tmp/cepstra-slurm}
# shellcheck disable=SC2317  # called by the EXIT trap
stop() { scripts/local_slurm.sh stop > /dev/null 2>&1 || true; echo "== slurm: cluster stopped"; }
trap stop EXIT
trap 'exit 1' INT TERM
echo "== slurm: starting a 2-node local cluster in $CEPSTRA_SLURM_DIR (installs slurm-wlm + munge if missing)"
scripts/local_slurm.sh start --nodes 2 || { echo "== slurm: FAILED to start the local cluster"; exit 1; }
rc=0
echo "== slurm: scripts/tests/test_slurm.sh (slurm.pl failure handling against the live cluster)"
scripts/tests/test_slurm.sh || rc=1
echo "== slurm: scripts/tests/test_recipes_slurm.sh (recipes with --cmd slurm.pl)"
scripts/tests/test_recipes_slurm.sh || rc=1
[ "$rc" -eq 0 ] && echo "== slurm: passed" || echo "== slurm: FAILED"
exit "$rc"
