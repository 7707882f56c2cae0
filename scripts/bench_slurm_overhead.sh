#!/usr/bin/env bash
# bench_slurm_overhead.sh - what does going through Slurm cost? Times the same
# JOB=1:4 arrays with scripts/run.pl and scripts/slurm.pl on the local cluster
# (scripts/local_slurm.sh) and prints both.
#
# Usage: scripts/bench_slurm_overhead.sh [--repeat R]     (default R=3; as root)
#
# Uses the cluster in $CEPSTRA_SLURM_DIR (default /tmp/cepstra-slurm) if one runs,
# else starts a 2-node one and stops it at the end. run.pl gets --max-jobs-run 4 so
# both run the 4 tasks at once (the local cluster declares all CPUs on each node).
# Prints, per array: every run's wall time, then the median for each runner, and
# their ratio.
set -euo pipefail

repeat=3
case ${1:-} in
  --repeat) repeat=${2:?--repeat needs a number} ;;
  '') ;;
  *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac

scripts=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export CEPSTRA_SLURM_DIR=${CEPSTRA_SLURM_DIR:-/tmp/cepstra-slurm}
work=$(mktemp -d /tmp/bench_slurm.XXXXXX)
started=0
cleanup() {
  cd / || true
  [ "$started" = 0 ] || "$scripts/local_slurm.sh" stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
if ! "$scripts/local_slurm.sh" status >/dev/null 2>&1; then
  started=1
  "$scripts/local_slurm.sh" start --nodes 2 >/dev/null
fi
export SLURM_CONF=$CEPSTRA_SLURM_DIR/slurm.conf
cd "$work"

# time_it LABEL-FILE COMMAND... : append the wall time in seconds to LABEL-FILE
time_it() {
  local out=$1 t0 t1
  shift
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f\n", b-a}' >>"$out"
}
median() { sort -n "$1" | awk '{v[NR]=$1} END{print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

printf '%-22s %-8s %-28s %s\n' array runner "wall times (s)" median
bench() { # bench LABEL COMMAND-WORDS...
  local label=$1 i runner
  shift
  for runner in run slurm; do rm -f "t.$runner"; done
  for ((i = 1; i <= repeat; i++)); do
    time_it t.run "$scripts/run.pl" --max-jobs-run 4 JOB=1:4 "exp/log/run.$i.JOB.log" "$@"
    time_it t.slurm "$scripts/slurm.pl" JOB=1:4 "exp/log/slurm.$i.JOB.log" "$@"
  done
  for runner in run slurm; do
    printf '%-22s %-8s %-28s %s\n' "$label" "$runner.pl" "$(tr '\n' ' ' <"t.$runner")" "$(median "t.$runner")"
  done
  awk -v r="$(median t.run)" -v s="$(median t.slurm)" -v l="$label" \
    'BEGIN{printf "%-22s slurm.pl - run.pl = %.2f s, ratio %.2f\n", l, s-r, (r > 0 ? s/r : 0)}'
}
bench "JOB=1:4 true" true
bench "JOB=1:4 sleep 1" sleep 1
bench "JOB=1:4 sleep 5" sleep 5
