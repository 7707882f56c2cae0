#!/usr/bin/env bash
# The recipes on a live Slurm cluster (issue 5's acceptance 1 and 3): egs/synth_digits (and egs/tidigits when
# the corpus exists) with --nj N --cmd slurm.pl
#   - print the same accuracy as with --cmd run.pl
#   - train a model set byte-identical to --nj 1 --cmd run.pl (0.mdl .. N.mdl, final.mdl)
#   - ran their jobs on both nodes (the "# Running on" lines of the job logs)
#   - take at most 2x the wall time of --cmd run.pl with the same --nj (each timed twice, alternating,
#     best of the two compared; both printed)
# Usage: scripts/tests/test_recipes_slurm.sh [--nj 4] [--corpus DIR] [--max-ratio 2]   (as root)
# Uses the cluster in $CEPSTRA_SLURM_DIR (default /tmp/cepstra-slurm) if one runs there, else starts a 2-node
# one (scripts/local_slurm.sh, which installs slurm-wlm + munge when missing) and stops it at the end, also on
# failure or interrupt.  The binary is built once if stale (path.sh), then used as it is (CEPSTRA_NO_BUILD).
# Prints one line per check and, last, "N passed, M failed"; exits 1 if any check failed.
set -uo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
nj=4
corpus=$root/../shared/data/ti-digits
max_ratio=2
help_message=$(sed -n '2,13s/^# \{0,1\}//p' "$0")
# shellcheck source=SCRIPTDIR/../parse_options.sh
. "$root/scripts/parse_options.sh"
[ $# -eq 0 ] || { printf '%s\n' "$help_message" >&2; exit 1; }

local_slurm=$root/scripts/local_slurm.sh
export CEPSTRA_SLURM_DIR=${CEPSTRA_SLURM_DIR:-/tmp/cepstra-slurm}
work=$(mktemp -d /tmp/test_recipes_slurm.XXXXXX)
started=0
passed=0 failed=0
finish() {
  cd / || true
  if [ "$started" = 1 ]; then
    "$local_slurm" stop > "$work/stop.log" 2>&1 || { echo "stopping the cluster failed:"; cat "$work/stop.log"; }
    echo "# stopped the local cluster"
  fi
  rm -rf "$work"
  echo "$passed passed, $failed failed"
}
trap finish EXIT
trap 'failed=$((failed + 1)); echo "FAIL interrupted"; exit 1' INT TERM

check() { # check DESCRIPTION COMMAND...: pass if COMMAND succeeds
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1)); echo "ok   $what"
  else
    failed=$((failed + 1)); echo "FAIL $what"; return 1
  fi
}
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b) ? a : b }'; }
same_models() {   # same_models DIR-A DIR-B: every *.mdl of A in B with the same bytes, and no other
  local f n=0
  for f in "$1"/*.mdl; do
    cmp -s "$f" "$2/$(basename "$f")" || { echo "     differs: $(basename "$f")"; return 1; }
    n=$((n + 1))
  done
  [ "$n" -ge 2 ] && [ "$(find "$2" -maxdepth 1 -name '*.mdl' | wc -l)" -eq "$n" ]
}
keep_models() { rm -rf "$2"; mkdir -p "$2" && cp "$1"/*.mdl "$2/"; }
run() {   # run EGS LOG ARGS...: egs/EGS/run.sh ARGS; sets $out (last line) and $wall
  local egs=$1 log=$work/$2.log t0 rc
  shift 2
  t0=$(now)
  "$root/egs/$egs/run.sh" "$@" > "$log" 2>&1
  rc=$?
  wall=$(secs "$t0" "$(now)")
  out=$(tail -n 1 "$log")
  if [ "$rc" -ne 0 ]; then echo "     exit $rc; last lines of the output:"; tail -n 15 "$log" | sed 's/^/     | /'; fi
  echo "#    egs/$egs/run.sh $* -> $out   (wall $wall s, load $(cut -d' ' -f1 /proc/loadavg))"
  return "$rc"
}

# ---- the cluster
if "$local_slurm" status > /dev/null 2>&1; then
  echo "# using the running cluster in $CEPSTRA_SLURM_DIR"
else
  started=1
  if ! "$local_slurm" start --nodes 2 > "$work/start.log" 2>&1; then
    cat "$work/start.log"; check "the local cluster starts (scripts/local_slurm.sh start --nodes 2)" false; exit 1
  fi
  echo "# started a 2-node local cluster in $CEPSTRA_SLURM_DIR"
fi
export SLURM_CONF=$CEPSTRA_SLURM_DIR/slurm.conf
# shellcheck source=/dev/null  # SLURM_CONF and CEPSTRA_SLURM_KICK (slurm.pl starts each array at once)
[ ! -f "$CEPSTRA_SLURM_DIR/env.sh" ] || . "$CEPSTRA_SLURM_DIR/env.sh"
echo "# slurm.pl kick: ${CEPSTRA_SLURM_KICK:-none: each array waits for the ~1 s scheduling pass of slurmctld}"
nodes=$(sinfo -h -N -o '%N' | sort -u | tr '\n' ' ')
check "the cluster has 2 nodes or more ($nodes)" test "$(wc -w <<< "$nodes")" -ge 2 || exit 1

# ---- the binary: built once if stale, then fixed
# shellcheck source=SCRIPTDIR/../../egs/synth_digits/path.sh
if ! (cd "$root/egs/synth_digits" && . ./path.sh); then check "cepstra builds (path.sh)" false; exit 1; fi
export CEPSTRA_NO_BUILD=true
echo "# $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); --nj $nj"

# recipe EGS LABEL ARGS...: the checks for one recipe
recipe() {
  local egs=$1 label=$2 rc acc_run acc_slurm w_run=999 w_slurm=999 i exp
  shift 2
  exp=$root/egs/$egs/exp/classes_cmn_full_k5_i5_s0
  run "$egs" "$label.nj1" --nj 1 --cmd run.pl "$@"; rc=$?
  check "$label --nj 1 --cmd run.pl exits 0" test "$rc" -eq 0 || return
  keep_models "$exp" "$work/$label.nj1"
  for i in 1 2; do
    run "$egs" "$label.run$i" --nj "$nj" --cmd run.pl "$@"; rc=$?
    check "$label --nj $nj --cmd run.pl exits 0 (try $i)" test "$rc" -eq 0 || return
    acc_run=$out; w_run=$(min "$w_run" "$wall")
    run "$egs" "$label.slurm$i" --nj "$nj" --cmd slurm.pl "$@"; rc=$?
    check "$label --nj $nj --cmd slurm.pl exits 0 (try $i)" test "$rc" -eq 0 || return
    acc_slurm=$out; w_slurm=$(min "$w_slurm" "$wall")
  done
  # the last run was slurm.pl's: its models and logs are in place
  check "$label: slurm.pl and run.pl give the same accuracy ($acc_slurm | $acc_run)" test "$acc_slurm" = "$acc_run"
  check "$label: --nj $nj --cmd slurm.pl and --nj 1 --cmd run.pl give byte-identical model sets" \
    same_models "$work/$label.nj1" "$exp"
  local logs used
  logs=$(find "$root/egs/$egs/exp/make_mfcc/log" "$exp/log" "$exp/score_test_cmn/log" -maxdepth 1 -name '*.log' \
         -newer "$work/$label.run2.log")
  used=$(xargs sed -n 's/^# Running on //p' <<< "$logs" | sort | uniq -c | awk '{ printf "%s%s: %d jobs", (NR > 1 ? ", " : ""), $2, $1 }')
  check "$label: the job logs record both nodes ($used)" \
    test "$(xargs sed -n 's/^# Running on \(node[12]\)$/\1/p' <<< "$logs" | sort -u | wc -l)" -eq 2
  echo "#    $label wall time, best of 2: run.pl $w_run s, slurm.pl $w_slurm s (--nj $nj)"
  printf '%-22s %-8s %s s\n' "$label" run.pl "$w_run" "$label" slurm.pl "$w_slurm"
  awk -v r="$w_run" -v s="$w_slurm" -v l="$label" \
    'BEGIN { printf "%-22s slurm.pl - run.pl = %.1f s, ratio %.2f\n", l, s - r, (r > 0 ? s / r : 0) }'
  check "$label: slurm.pl wall time within ${max_ratio}x of run.pl's ($w_slurm s vs $w_run s)" \
    awk -v r="$w_run" -v s="$w_slurm" -v m="$max_ratio" 'BEGIN { exit !(s <= m * r) }' ||
    echo "     (each slurm.pl call costs ~0.1 s with the kick of local_slurm.sh's env.sh, ~0.5-1 s without;" \
         "kick: ${CEPSTRA_SLURM_KICK:-none}; see the exp/*/log/q/*.jobs files and $CEPSTRA_SLURM_DIR/log)"
}

echo "# egs/synth_digits (the corpus is made first if needed)"
if (cd "$root/egs/synth_digits" && local/make_corpus.sh corpus) > "$work/corpus.log" 2>&1; then
  recipe synth_digits synth_digits
else
  tail -n 20 "$work/corpus.log"; check "synth_digits: local/make_corpus.sh makes the corpus" false
fi
if [ -f "$corpus/train/wav.scp" ] && [ -f "$corpus/test/wav.scp" ]; then
  corpus=$(cd "$corpus" && pwd)
  echo "# egs/tidigits on $corpus"
  recipe tidigits tidigits --corpus "$corpus"
else
  echo "# egs/tidigits: skipped (no $corpus/train/wav.scp)"
fi
[ "$failed" -eq 0 ]
