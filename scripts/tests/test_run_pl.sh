#!/usr/bin/env bash
# Tests of scripts/run.pl. Usage: scripts/tests/test_run_pl.sh
# Prints one line per check and, last, "N passed, M failed"; exits 1 if any failed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
run_pl=$(cd "$here/.." && pwd)/run.pl
work=$(mktemp -d /tmp/test_run_pl.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

passed=0 failed=0
# shellcheck source=SCRIPTDIR/checks.sh
. "$here/checks.sh"

# 1. array substitution in the log name and the command; log directory created
"$run_pl" JOB=1:4 a/log/sub.JOB.log echo task JOB of sub.JOB >out.1 2>&1
check "JOB=1:4 exits 0" test $? -eq 0
for j in 1 2 3 4; do
  check "log $j exists in the created directory" test -f "a/log/sub.$j.log"
  check "log $j has the substituted output" has "a/log/sub.$j.log" "^task $j of sub\.$j$"
done
check "no JOB left in the logs" lacks a/log/sub.2.log 'JOB'
# any variable name and start > 1
"$run_pl" TASK=3:5 b/t.TASK.log echo TASK >/dev/null 2>&1
check "TASK=3:5 writes logs 3..5 only" test -f b/t.3.log -a -f b/t.5.log -a ! -e b/t.1.log
check "TASK=3:5 substitutes TASK" has b/t.4.log '^4$'

# 2. the log's header and footer
host=$(hostname)
l=a/log/sub.3.log
check "log line 1 is the command" has "$l" '^# echo task 3 of sub\.3$'
check "log records the host name" has "$l" "^# Running on $host$"
check "log has the start time" has "$l" '^# Started at '
check "log has the accounting line" has "$l" '^# Accounting: time=[0-9]+ threads=1$'
check "log ends with code 0" has "$l" '^# Ended \(code 0\) at .*, elapsed time [0-9]+ seconds$'
check "--num-threads goes to the accounting line" \
  bash -c "'$run_pl' --num-threads 3 c/thr.log true && grep -q 'threads=3' c/thr.log"

# 3. pipes and quoting inside the command
"$run_pl" JOB=1:2 p/pipe.JOB.log echo a b JOB \| wc -w \> p/count.JOB >/dev/null 2>&1
check "a pipe and a redirection inside the command work" test "$(cat p/count.2)" = 3
"$run_pl" p/quote.log echo "two  spaces" >/dev/null 2>&1
check "an argument with spaces stays one argument" has p/quote.log '^two  spaces$'
"$run_pl" p/stderr.log 'echo' to-stderr '>&2' >/dev/null 2>&1
check "stderr goes into the log" has p/stderr.log '^to-stderr$'

# a pipeline fails when any command in it fails (pipefail), not only when its last one does
"$run_pl" JOB=1:3 p/pf.JOB.log test JOB -ne 2 \| cat >/dev/null 2>pf.err
rc=$?
check "a failing first command of a pipeline fails the task (pipefail; exit $rc)" test "$rc" -eq 1
check "... message: 1 / 3 failed" has pf.err '^run\.pl: 1 / 3 failed'
check "... the task's log ends with code 1" has p/pf.2.log '^# Ended \(code 1\)'
check "... the others end with code 0" has p/pf.3.log '^# Ended \(code 0\)'
"$run_pl" p/pf_ok.log echo a \| grep -q a >/dev/null 2>&1
check "a pipeline whose commands all succeed still succeeds" test $? -eq 0

# 4. the non-array form
"$run_pl" single/one.log echo hello >/dev/null 2>&1
check "run.pl LOG CMD exits 0" test $? -eq 0
check "run.pl LOG CMD writes its log" has single/one.log '^hello$'

# 5. failures: exit status and message naming the log
"$run_pl" JOB=1:4 f/fail.JOB.log test JOB -ne 3 >/dev/null 2>f.err
rc=$?
check "one failing task makes run.pl exit 1 (got $rc)" test "$rc" -eq 1
check "message: run.pl: 1 / 4 failed, log is in f/fail.*.log" \
  has f.err '^run\.pl: 1 / 4 failed, log is in f/fail\.\*\.log$'
check "the failing task's log ends with code 1" has f/fail.3.log '^# Ended \(code 1\)'
check "the other tasks still ran" has f/fail.4.log '^# Ended \(code 0\)'
"$run_pl" JOB=1:3 f/all.JOB.log exit 7 >/dev/null 2>f2.err
check "message counts all failures (3 / 3)" has f2.err '^run\.pl: 3 / 3 failed, log is in f/all\.\*\.log$'
check "the exit code is in the log" has f/all.2.log '^# Ended \(code 7\)'
"$run_pl" f/single.log false >/dev/null 2>f3.err
check "non-array failure names its log" has f3.err '^run\.pl: 1 / 1 failed, log is in f/single\.log$'
"$run_pl" JOB=1:2 f/onelog.log true >/dev/null 2>f4.err
rc=$?
check "several tasks into one log is refused (exit $rc)" test "$rc" -ne 0
check "... saying why" has f4.err 'does not contain JOB'

# 6. parallel limit: each task records how many tasks run at the moment it starts
mkdir -p running
probe=(touch running/JOB \; ls running \| wc -l \> n.JOB \; sleep 0.4 \; rm running/JOB)
t0=$(date +%s.%N)
"$run_pl" --max-jobs-run 2 JOB=1:6 par/p.JOB.log "${probe[@]}" >/dev/null 2>&1
t1=$(date +%s.%N)
max=$(cat n.* | sort -n | tail -1)
check "--max-jobs-run 2: at most 2 tasks at once (saw $max)" test "$max" -le 2
check "--max-jobs-run 2: tasks do run in parallel (saw $max)" test "$max" -ge 2
check "--max-jobs-run 2: 6 tasks of 0.4 s take >= 1.2 s" awk -v a="$t0" -v b="$t1" 'BEGIN{exit !(b-a >= 1.2)}'
rm -f n.*
"$run_pl" -tc 1 JOB=1:3 par/q.JOB.log "${probe[@]}" >/dev/null 2>&1
check "-tc 1: one task at a time" test "$(cat n.* | sort -n | tail -1)" -eq 1
rm -f n.*
"$run_pl" JOB=1:4 --max-jobs-run 4 par/r.JOB.log "${probe[@]}" >/dev/null 2>&1
check "options after JOB=: --max-jobs-run 4 runs 4 at once" test "$(cat n.* | sort -n | tail -1)" -eq 4

# 7. queue options are accepted and ignored
"$run_pl" --mem 2G --num-threads 1 --gpu 0 --time 1:00:00 --config conf/none.conf \
  JOB=1:2 ign/x.JOB.log echo ok >/dev/null 2>&1
check "--mem/--num-threads/--gpu/--time/--config accepted" has ign/x.2.log '^ok$'

# 8. SIGTERM stops the running tasks (whole pipelines) and exits 143
secs="9$$"   # a sleep only this test runs
"$run_pl" JOB=1:2 sig/s.JOB.log echo '$$' \> sig/pid.JOB \; sleep "$secs" \| cat >/dev/null 2>sig.err &
pid=$!
for _ in $(seq 50); do [ -s sig/pid.1 ] && [ -s sig/pid.2 ] && break; sleep 0.1; done
kill -TERM "$pid"
wait "$pid"
rc=$?
check "SIGTERM: run.pl exits 143 (got $rc)" test "$rc" -eq 143
alive=0
for f in sig/pid.1 sig/pid.2; do
  p=$(cat "$f" 2>/dev/null) && kill -0 "$p" 2>/dev/null && alive=1
done
check "SIGTERM: the tasks' shells are gone" test "$alive" -eq 0
check "SIGTERM: no 'sleep $secs' left" bash -c "! ps -eo args= | grep -qx 'sleep $secs'"
check "SIGTERM: says so" has sig.err '^run\.pl: caught SIGTERM'
check "SIGTERM: the task's log still gets its footer" has sig/s.1.log '^# Ended \(code 143; signal 15\)'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
