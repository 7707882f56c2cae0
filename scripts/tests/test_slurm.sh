#!/usr/bin/env bash
# Tests of scripts/slurm.pl against a live Slurm (scripts/local_slurm.sh).
# Usage: scripts/tests/test_slurm.sh     (as root; installs slurm-wlm + munge if missing)
#
# Uses the cluster in $CEPSTRA_SLURM_DIR (default /tmp/cepstra-slurm) if one runs there,
# else starts a 2-node one and stops it at the end, also on failure or interrupt.
# Prints one line per check and, last, "N passed, M failed"; exits 1 if any failed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
scripts=$(cd "$here/.." && pwd)
slurm_pl=$scripts/slurm.pl
local_slurm=$scripts/local_slurm.sh
export CEPSTRA_SLURM_DIR=${CEPSTRA_SLURM_DIR:-/tmp/cepstra-slurm}
work=$(mktemp -d /tmp/test_slurm.XXXXXX)
started=0

passed=0 failed=0
check() { # check DESCRIPTION COMMAND...: pass if COMMAND succeeds
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1)); echo "ok   $what"
  else
    failed=$((failed + 1)); echo "FAIL $what"
    return 1
  fi
}
has() { grep -qE -- "$2" "$1"; }               # has FILE REGEX
finish() {
  cd / || true
  local p
  for p in $(jobs -p); do kill "$p" 2>/dev/null; done   # our own slurm.pl runs, if interrupted
  wait 2>/dev/null
  if [ "$started" = 1 ]; then
    "$local_slurm" stop >"$work.stop.log" 2>&1 || { echo "stopping the cluster failed:"; cat "$work.stop.log"; }
    rm -f "$work.stop.log"
  fi
  rm -rf "$work"
  echo "$passed passed, $failed failed"
}
trap finish EXIT
trap 'failed=$((failed + 1)); echo "FAIL interrupted"; exit 1' INT TERM

# ---- the cluster ----
if "$local_slurm" status >/dev/null 2>&1; then
  echo "# using the running cluster in $CEPSTRA_SLURM_DIR"
else
  started=1
  if ! "$local_slurm" start --nodes 2 >"$work/start.log" 2>&1; then
    cat "$work/start.log"
    check "local cluster starts" false
    exit 1
  fi
fi
export SLURM_CONF=$CEPSTRA_SLURM_DIR/slurm.conf
# shellcheck source=/dev/null  # SLURM_CONF and CEPSTRA_SLURM_KICK, written by local_slurm.sh
[ ! -f "$CEPSTRA_SLURM_DIR/env.sh" ] || . "$CEPSTRA_SLURM_DIR/env.sh"
nodes=$(sinfo -h -N -o '%N' | sort -u | wc -l)
check "the cluster has at least 2 nodes (has $nodes)" test "$nodes" -ge 2 || exit 1
cd "$work" || exit 1

# waits until squeue shows N tasks of job name $1 running; prints the job id
wait_running() {
  local name=$1 n=$2 i
  for ((i = 0; i < 200; i++)); do
    if [ "$(squeue -h -r -n "$name" -t R -o '%F' | wc -l)" -ge "$n" ]; then
      squeue -h -r -n "$name" -o '%F' | head -1
      return 0
    fi
    sleep 0.1
  done
  return 1
}
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }

# ---- 1. a 4-task array is spread over both nodes ----
t0=$(now)
"$slurm_pl" JOB=1:4 exp/log/spread.JOB.log sleep 1 \; echo task JOB \| tr a-z A-Z >out.spread 2>&1
rc=$?
t1=$(now)
echo "# 4 x 'sleep 1' on 2 nodes of 2 CPUs took $(secs "$t0" "$t1") s"
check "JOB=1:4 exits 0 (got $rc)" test "$rc" -eq 0
for j in 1 2 3 4; do
  check "task $j: output with a pipe" has exp/log/spread.$j.log "^TASK $j$"
  check "task $j: log ends with code 0" has exp/log/spread.$j.log '^# Ended \(code 0\) at '
done
check "log has the command" has exp/log/spread.2.log '^# sleep 1 ; echo task 2 \| tr a-z A-Z$'
check "log has start time and accounting" \
  bash -c "grep -q '^# Started at ' exp/log/spread.3.log && grep -q '^# Accounting: time=[0-9]* threads=1' exp/log/spread.3.log"
used=$(sed -n 's/^# Running on //p' exp/log/spread.*.log | sort -u | tr '\n' ' ')
check "the logs record 2 distinct nodes (saw: $used)" test "$(wc -w <<<"$used")" -eq 2
check "no status files left behind" bash -c '! ls exp/log/q/ | grep -q status'
check "the Slurm job id is recorded in q/spread.jobs" has exp/log/q/spread.jobs '^[0-9]+ '
check "4 trivial tasks take < 6 s (fast polling)" awk -v t="$(secs "$t0" "$t1")" 'BEGIN{exit !(t < 6)}'

# ---- 2. the non-array form, options mapped to sbatch flags ----
"$slurm_pl" exp/log/single.log echo hello \| tr a-z A-Z >/dev/null 2>&1
check "slurm.pl LOG CMD exits 0" test $? -eq 0
check "slurm.pl LOG CMD writes its log" has exp/log/single.log '^HELLO$'
name=opts$$
"$slurm_pl" --mem 100M --time 5 --max-jobs-run 1 --num-threads 1 \
  JOB=1:2 "exp/log/$name.JOB.log" sleep 2 >out.opts 2>&1 &
pid=$!
if id=$(wait_running "$name" 1); then
  info=$(scontrol show job "$id")
  check "--max-jobs-run 1 -> ArrayTaskThrottle=1" grep -q 'ArrayTaskThrottle=1' <<<"$info"
  check "--time 5 -> TimeLimit=00:05:00" grep -q 'TimeLimit=00:05:00' <<<"$info"
  check "--mem 100M -> MinMemoryCPU=100M" grep -q 'MinMemoryCPU=100M' <<<"$info"
  check "--max-jobs-run 1: one task running at a time" \
    test "$(squeue -h -r -n "$name" -t R -o '%F' | wc -l)" -le 1
else
  check "the options job starts" false
fi
wait "$pid"
check "the options job succeeds" test $? -eq 0
mkdir -p conf
printf 'command sbatch --export=ALL --ntasks=1 --partition=shared\n' >conf/slurm.conf
"$slurm_pl" exp/log/part.log true >/dev/null 2>&1
check "conf/slurm.conf is used (partition shared)" has exp/log/part.log 'partition shared$'
rm conf/slurm.conf
"$slurm_pl" --frobnicate 3 exp/log/bad.log true >/dev/null 2>out.bad
check "an option the config does not describe is refused" \
  bash -c "grep -q 'option --frobnicate 3 is not described in built-in config' out.bad"
"$slurm_pl" --gpu 1 exp/log/gpu.log true >/dev/null 2>out.gpu
rc=$?
check "a refused submission (--gpu 1, no GPUs) exits 1 (got $rc)" test "$rc" -eq 1
check "... saying so" has out.gpu '^slurm\.pl: submitting failed'

# ---- 3. one task exits non-zero ----
"$slurm_pl" JOB=1:4 exp/log/fail.JOB.log test JOB -ne 3 >/dev/null 2>out.fail
rc=$?
check "one failing task: slurm.pl exits 1 (got $rc)" test "$rc" -eq 1
check "message: slurm.pl: 1 / 4 failed, log is in exp/log/fail.3.log" \
  has out.fail '^slurm\.pl: 1 / 4 failed, log is in exp/log/fail\.3\.log$'
check "the failed task's log says code 1" has exp/log/fail.3.log '^# Ended \(code 1\)'
"$slurm_pl" JOB=1:3 exp/log/fall.JOB.log exit 4 >/dev/null 2>out.fall
check "all failing: message with the * log name" has out.fall '^slurm\.pl: 3 / 3 failed, log is in exp/log/fall\.\*\.log$'
# a pipeline fails when any command in it fails (pipefail), not only its last one
"$slurm_pl" JOB=1:2 exp/log/pf.JOB.log test JOB -ne 2 \| cat >/dev/null 2>out.pf
rc=$?
check "a failing first command of a pipeline fails the task (pipefail; exit $rc)" test "$rc" -eq 1
check "... naming that task's log" has out.pf '^slurm\.pl: 1 / 2 failed, log is in exp/log/pf\.2\.log$'

# ---- 4. a task killed by scancel ----
name=cancel$$
"$slurm_pl" JOB=1:3 "exp/log/$name.JOB.log" test JOB -ne 2 \|\| sleep 60 >/dev/null 2>out.cancel &
pid=$!
t0=$(now)
if id=$(wait_running "$name" 1); then
  sleep 0.3
  scancel "${id}_2"
  wait "$pid"
  rc=$?
  check "scancel of task 2: slurm.pl exits 1 (got $rc)" test "$rc" -eq 1
  check "... in $(secs "$t0" "$(now)") s, not after the task's 60 s" awk -v t="$(secs "$t0" "$(now)")" 'BEGIN{exit !(t < 30)}'
  check "... naming task 2's log" has out.cancel "^slurm\\.pl: 1 / 3 failed, log is in exp/log/$name\\.2\\.log$"
  check "... whose log says it was killed" has "exp/log/$name.2.log" '^# Ended \(code 143; killed by SIGTERM\)'
else
  wait "$pid"
  check "the scancel job starts" false
fi

# ---- 5. tasks that never ran / never wrote a status ----
# a) the job script exits 0 before the command runs (path.sh here does `exit 0`): Slurm
#    says COMPLETED with exit code 0, as it does when a node fails to launch a task
mkdir -p never && (
  cd never || exit 1
  echo 'exit 0' >path.sh
  CEPSTRA_SLURM_GRACE=2 "$slurm_pl" JOB=1:2 exp/log/never.JOB.log true >/dev/null 2>../out.never
  echo $? >../rc.never
)
rc=$(cat rc.never)
check "tasks that never ran: slurm.pl exits 1 (got $rc)" test "$rc" -eq 1
check "... 2 / 2 failed" has out.never '^slurm\.pl: 2 / 2 failed'
check "... saying they left the queue without a status" has out.never 'left the queue without writing its status'
id=$(awk '{print $1}' never/exp/log/q/never.jobs)
check "... while Slurm itself says COMPLETED, exit code 0" \
  bash -c "scontrol show job '${id}_1' | grep -q 'JobState=COMPLETED .*' && scontrol show job '${id}_1' | grep -q 'ExitCode=0:0'"
# b) the task's job script is SIGKILLed (no trap can write a status)
# shellcheck disable=SC2016  # $PPID is for the task's shell to expand
CEPSTRA_SLURM_GRACE=2 "$slurm_pl" JOB=1:2 exp/log/kill9.JOB.log test JOB -ne 2 \|\| kill -9 '$PPID' >/dev/null 2>out.kill9
rc=$?
check "job script killed by SIGKILL: slurm.pl exits 1 (got $rc)" test "$rc" -eq 1
check "... 1 / 2 failed, naming task 2's log" has out.kill9 '^slurm\.pl: 1 / 2 failed, log is in exp/log/kill9\.2\.log$'
# c) the node goes down while the task runs (no requeue)
name=down$$
printf 'command sbatch --export=ALL --ntasks=1 --no-requeue\n' >norequeue.conf
CEPSTRA_SLURM_GRACE=2 "$slurm_pl" --config norequeue.conf -w node2 "exp/log/$name.log" sleep 60 >/dev/null 2>out.down &
pid=$!
if wait_running "$name" 1 >/dev/null; then
  scontrol update NodeName=node2 State=DOWN Reason=cepstra-test
  wait "$pid"
  rc=$?
  check "node down during the task: slurm.pl exits 1 (got $rc)" test "$rc" -eq 1
else
  wait "$pid"
  check "the node-down job starts" false
fi
scontrol update NodeName=node2 State=RESUME >/dev/null 2>&1 || true
for _ in $(seq 100); do
  [ "$(sinfo -h -n node2 -o '%T')" = idle ] && break
  sleep 0.2
done
check "node2 is back (idle)" test "$(sinfo -h -n node2 -o '%T')" = idle

# ---- 6. the driver interrupted: its job is cancelled ----
for sig in TERM INT; do
  name=intr$sig$$
  secs="7$$${#sig}"   # a sleep only this test (and this signal) runs
  "$slurm_pl" JOB=1:3 "exp/log/$name.JOB.log" sleep "$secs" >/dev/null 2>"out.$sig" &
  pid=$!
  if id=$(wait_running "$name" 3); then
    kill "-$sig" "$pid"
    wait "$pid"
    rc=$?
    want=$([ "$sig" = INT ] && echo 130 || echo 143)
    check "SIG$sig to slurm.pl: exits $want (got $rc)" test "$rc" -eq "$want"
    check "SIG$sig: job $id has left squeue" test -z "$(squeue -h -j "$id" -o '%i' 2>/dev/null)" ||
      { cat "out.$sig"; squeue; }
    check "SIG$sig: says it cancelled the job" has "out.$sig" ": caught SIG$sig, cancelled Slurm job $id"
    gone=0
    for _ in $(seq 100); do
      pgrep -fx "sleep $secs" >/dev/null || { gone=1; break; }
      sleep 0.1
    done
    check "SIG$sig: no task process left" test "$gone" -eq 1 ||
      { pgrep -a -f "sleep $secs|slurmstepd"; squeue; }
  else
    kill "$pid" 2>/dev/null
    wait "$pid"
    check "the SIG$sig job starts" false
  fi
done
# ---- 7. the kick (CEPSTRA_SLURM_KICK from env.sh): the array starts at once ----
# slurmctld starts batch jobs in its ~1 s background pass; the kick's epilog report
# starts them at once. Measured in the controller's log: submission -> first Allocate,
# over 5 calls in a row (without the kick a chain of calls waits ~0.5-1 s each).
ctld_log=$CEPSTRA_SLURM_DIR/log/slurmctld.log
if [ -n "${CEPSTRA_SLURM_KICK:-}" ] && [ -f "$ctld_log" ]; then
  for i in 1 2 3 4 5; do "$slurm_pl" JOB=1:4 "exp/log/kick$i.JOB.log" true >/dev/null 2>&1; done
  delays=$(for i in 1 2 3 4 5; do
    id=$(awk '{print $1}' "exp/log/q/kick$i.jobs")
    awk -v id="$id" '
      function t(s) { split(substr(s, 13, 12), a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
      index($0, "_slurm_rpc_submit_batch_job: JobId=" id " ") && !sub_t { sub_t = t($1) }
      index($0, "sched: Allocate JobId=" id "_") && !alloc_t { alloc_t = t($1) }
      END { if (sub_t && alloc_t) printf "%.3f\n", alloc_t - sub_t; else print "none" }' "$ctld_log"
  done | sort -n | tr '\n' ' ')
  median=$(awk '{ print $3 }' <<<"$delays")
  check "kick: an array starts < 0.4 s after submission (median of 5; seen: $delays)" \
    awk -v m="$median" 'BEGIN { exit !(m != "none" && m < 0.4) }'
else
  echo "# no CEPSTRA_SLURM_KICK in $CEPSTRA_SLURM_DIR/env.sh: kick timing not checked"
fi
CEPSTRA_SLURM_KICK=false "$slurm_pl" JOB=1:2 exp/log/nokick.JOB.log true >/dev/null 2>&1
check "a failing kick command changes nothing (exit 0)" test $? -eq 0

check "nothing of ours left in squeue" test -z "$(squeue -h -o '%j' | grep -E "^(intr|cancel|down|opts)")"

[ "$failed" -eq 0 ]
