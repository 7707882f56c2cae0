#!/usr/bin/env perl
# slurm.pl - run a command, or an array of N commands, as one Slurm array job.
#
# Same contract as scripts/run.pl (and Kaldi's utils/parallel/slurm.pl):
#
#   slurm.pl [options] [JOB=1:N] LOGFILE COMMAND...
#
# submits one `sbatch --array=1-N` job whose task i runs COMMAND with JOB replaced
# by i, writing LOGFILE (JOB replaced by i) with the same header and footer as
# run.pl ("# Running on" names the Slurm node), waits, and exits 1 with
#   slurm.pl: <failed> / <total> failed, log is in <LOGFILE with JOB as *>
# if any task failed.
#
# How completion is decided. Each task writes its exit code into a status file
# (<logdir>/q/<name>.<run-id>.status.<task>) as its very last action; the driver
# polls for those files (every 0.02 s at first, then every 5% of the time waited so
# far, at most every 2 s). Slurm's own verdict is not trusted alone: `sbatch --wait`
# polls at 2, 10, 42 s..., and a task whose launch failed on a node can be reported
# COMPLETED with exit 0. squeue (every 3 s) only tells which tasks left the queue
# without writing a status; after a grace period ($CEPSTRA_SLURM_GRACE seconds,
# default 20, for shared file systems that show new files late) such a task counts
# as failed. If squeue keeps failing (controller down) for
# $CEPSTRA_SLURM_SQUEUE_TIMEOUT seconds (default 600), the driver gives up and
# cancels the job. SIGINT, SIGTERM and SIGHUP make the driver `scancel` its job
# (and wait for it to leave the queue) before exiting with 130/143.
#
# Files in <logdir>/q/: <name>.sh (the job script), <name>.<task>.out (Slurm's
# output of the job script itself, normally empty), <name>.jobs (one line per
# submission: job id, time, sbatch command line).
#
# Each task runs in the directory slurm.pl was started from (which must be on a file
# system shared with the nodes), sources ./path.sh there if it exists (with
# CEPSTRA_NO_BUILD=true), and runs the command with `bash -o pipefail -c`, stdin
# /dev/null (a pipeline fails when any of its commands fails).
#
# Options (before or after JOB=...), mapped to sbatch flags by the config file:
#   --config FILE        (default: conf/slurm.conf if it exists, else built in)
#   --mem X              e.g. 2G: memory per CPU (built in: --mem-per-cpu X)
#   --num-threads N      CPUs per task (built in: --cpus-per-task N)
#   --max-jobs-run N     at most N tasks at once (--array=...%N); also -tc N
#   --time T             time limit (built in: --time T)
#   --gpu N              GPUs per task (built in: --gres=gpu:N)
#   --partition P, --account A  (built in: --partition=P, --account=A)
#   --name VALUE         any other option the config file defines
#   -x VALUE             single-dash options are passed to sbatch as they are
#
# Config file format (Kaldi's conf/queue.conf format):
#   command sbatch --export=ALL       the submit command and its fixed options
#   option mem=* --mem-per-cpu=$0     --mem X adds these options, $0 = X
#   option mem=0                      --mem 0 adds nothing
#   default gpu=0                     value used when the option is not given
#   kick salloc --immediate=1 --nice=-10000 --quiet true
#                                     optional: run right after each sbatch so an idle
#                                     cluster starts the job at once (see "kick" below);
#                                     $CEPSTRA_SLURM_KICK overrides it ('' = no kick)
# The built-in config is printed by `slurm.pl --print-config`.
use strict;
use warnings;
use Cwd qw(getcwd abs_path);
use File::Basename qw(basename dirname);
use File::Path qw(make_path);
use POSIX qw(strftime);
use Time::HiRes qw(time sleep);

my $me = 'slurm.pl';

my $default_config = <<'EOF';
# built-in slurm.pl config (used when conf/slurm.conf does not exist)
command sbatch --export=ALL --ntasks=1
option mem=* --mem-per-cpu=$0
option mem=0
option num_threads=* --cpus-per-task=$0
option num_threads=1 --cpus-per-task=1
option time=* --time=$0
default gpu=0
option gpu=0
option gpu=* --gres=gpu:$0
option partition=* --partition=$0
option account=* --account=$0
EOF

sub usage {
  print STDERR <<"EOF";
Usage: $me [options] [JOB=1:N] <log-file> <command...>
e.g.:  $me --mem 2G JOB=1:4 exp/x/log/acc.JOB.log cepstra acc-stats ark:feats.JOB.ark x.JOB.acc
Options: --config F (default conf/slurm.conf, else built in; see --print-config)
         --mem X  --num-threads N  --max-jobs-run N  --time T  --gpu N
         --partition P  --account A  and any option named in the config file
Env:     CEPSTRA_SLURM_GRACE=20  seconds to wait for the status of a task that left squeue
         CEPSTRA_SLURM_KICK=CMD  run CMD after each sbatch (scripts/local_slurm.sh's clusters)
EOF
  exit 2;
}

if (@ARGV == 1 && $ARGV[0] eq '--print-config') { print $default_config; exit 0; }
usage() if @ARGV < 2;

my (%opt, @sbatch_extra);
my ($jobname, $jobstart, $jobend);
ARG: while (@ARGV >= 2) {
  my $a = $ARGV[0];
  if ($a =~ m/^([A-Za-z_]\w*)=(\d+):(\d+)$/ || $a =~ m/^([A-Za-z_]\w*)=(\d+)()$/) {
    ($jobname, $jobstart, $jobend) = ($1, $2, $3 eq '' ? $2 : $3);
    shift @ARGV;
    die "$me: invalid job range $a (start must be >= 1 and <= end)\n"
      if $jobstart < 1 || $jobstart > $jobend;
    next ARG;
  }
  last ARG unless $a =~ m/^-/;
  shift @ARGV;
  next ARG if $a eq '-V';          # GridEngine's "export environment": always on here
  my $val = shift @ARGV;
  if ($a eq '-tc') { $a = '--max-jobs-run'; }
  if ($a =~ m/^--(.+)$/) {
    (my $name = $1) =~ s/-/_/g;
    $opt{$name} = $val;
  } elsif ($a eq '-sync') {
    # GridEngine's "-sync y": we always wait, ignore it
  } else {
    push @sbatch_extra, $a, $val;  # e.g. -p partition, -q qos
  }
}
usage() if @ARGV < 2;
my $logfile = shift @ARGV;
if (!defined $jobname) { ($jobstart, $jobend) = (1, 1); }
if (defined $jobname && $jobend > $jobstart && index($logfile, $jobname) < 0) {
  die "$me: $jobname=$jobstart:$jobend runs several tasks but the log file '$logfile' "
    . "does not contain $jobname; they would all write to it\n";
}

# ---- config: options -> sbatch flags ------------------------------------------------
my ($config_name, $config_text) = ('built-in config', $default_config);
if (exists $opt{config} || -f 'conf/slurm.conf') {
  my $f = delete($opt{config}) // 'conf/slurm.conf';
  open my $cf, '<', $f or die "$me: cannot read config file $f: $!\n";
  local $/;
  ($config_name, $config_text) = ($f, <$cf>);
  close $cf;
}
my $max_jobs_run = delete $opt{max_jobs_run};
if (defined $max_jobs_run && $max_jobs_run !~ m/^[1-9]\d*$/) {
  die "$me: --max-jobs-run needs a positive integer, got '$max_jobs_run'\n";
}
my $num_threads = $opt{num_threads} // 1;

my ($submit, %star, %fixed, %defaults);
my $kick = '';                 # command run right after sbatch (see "kick" below)
for my $line (split /\n/, $config_text) {
  (my $l = $line) =~ s/\s*#.*$//;
  $l =~ s/^\s+//;
  next if $l eq '';
  if ($l =~ m/^command\s+(.+)$/) {
    $submit = $1;
  } elsif ($l =~ m/^option\s+(\w+)=\*\s+(.+)$/) {
    $star{$1} = $2;
  } elsif ($l =~ m/^option\s+(\w+)=(\S+)\s*(.*)$/) {
    $fixed{"$1=$2"} = $3;
  } elsif ($l =~ m/^default\s+(\w+)=(\S+)$/) {
    $defaults{$1} = $2;
  } elsif ($l =~ m/^kick\s+(.+)$/) {
    $kick = $1;
  } else {
    die "$me: cannot parse line '$line' in $config_name "
      . "(expected: command ..., option NAME=* ...\$0..., option NAME=VALUE ..., default NAME=VALUE, kick ...)\n";
  }
}
die "$me: $config_name has no 'command sbatch ...' line\n" unless defined $submit;
$kick = $ENV{CEPSTRA_SLURM_KICK} if defined $ENV{CEPSTRA_SLURM_KICK};
for my $k (keys %defaults) { $opt{$k} //= $defaults{$k}; }
my @mapped;
for my $k (sort keys %opt) {
  my $v = $opt{$k};
  if (exists $fixed{"$k=$v"}) {
    push @mapped, $fixed{"$k=$v"} if $fixed{"$k=$v"} ne '';
  } elsif (exists $star{$k}) {
    (my $s = $star{$k}) =~ s/\$0/$v/g;
    push @mapped, $s;
  } else {
    (my $dashed = $k) =~ s/_/-/g;
    die "$me: option --$dashed $v is not described in $config_name "
      . "(add 'option $k=* <sbatch flags with \$0>' to it)\n";
  }
}

# ---- the job script -------------------------------------------------------------------
my $cmd = join ' ', map { m/^\S+$/ ? $_ : (m/"/ ? "'$_'" : "\"$_\"") } @ARGV;

sub subst {
  my ($s, $task) = @_;
  $s =~ s/\Q$jobname\E/$task/g if defined $jobname;
  return $s;
}
sub shq { my ($s) = @_; $s =~ s/'/'\\''/g; return "'$s'"; }

my $cwd = getcwd();
my $logdir = dirname($logfile);
make_path($logdir) unless -d $logdir;
die "$me: cannot create log directory $logdir\n" unless -d $logdir;
my $qdir = abs_path($logdir) . '/q';
make_path($qdir) unless -d $qdir;
die "$me: cannot create $qdir\n" unless -d $qdir;
(my $stem = basename($logfile)) =~ s/\.[A-Za-z]{1,5}$//;
if (defined $jobname) { $stem =~ s/\.?\Q$jobname\E//g; $stem = 'job' if $stem eq ''; }
my $runid = sprintf('%d-%04x', $$, int(rand(65536)));
my $status_prefix = "$stem.$runid.status.";
my $script = "$qdir/$stem.sh";
my $eof = "CEPSTRA_CMD_EOF_$runid";
$eof =~ s/-/_/g;

my $cases = '';
for my $t ($jobstart .. $jobend) {
  my $log = subst($logfile, $t);
  $log = "$cwd/$log" unless $log =~ m{^/};
  $cases .= "  $t)\n    log=" . shq($log) . "\n    cmd=\$(cat <<'$eof'\n" . subst($cmd, $t) . "\n$eof\n    );;\n";
}
my $script_text = <<"EOF";
#!/usr/bin/env bash
# written by slurm.pl for: $stem (run $runid); submitted from $cwd
# A task writes its exit code to $qdir/$status_prefix<task>
# as its very last action: no status file means it failed.
task=\${SLURM_ARRAY_TASK_ID:-$jobstart}
status=$qdir/$status_prefix\$task
cd @{[shq($cwd)]} || exit 1
# a recipe's path.sh may build cepstra when sources changed: the submitting side
# did that already; many tasks must not start builds at once on the nodes
export CEPSTRA_NO_BUILD=true
if [ -f ./path.sh ]; then . ./path.sh; fi
case \$task in
$cases  *) echo "slurm.pl job script: unknown task \$task" >&2; exit 1;;
esac
# (bash built-ins rather than date/hostname/dirname: each fork costs a few ms per task)
[ -d "\${log%/*}" ] || mkdir -p "\${log%/*}" || exit 1
{ read -r host </proc/sys/kernel/hostname; } 2>/dev/null || host=\$(hostname)   # \$HOSTNAME is Slurm's node name
node=\${SLURMD_NODENAME:-\$host}
t0=\${EPOCHSECONDS:-\$(date +%s)}
printf -v started '%(%a %b %e %H:%M:%S %Z %Y)T' -1
{
  printf '# %s\\n' "\$cmd"
  echo "# Running on \$node"
  echo "# Host \$host, Slurm job \${SLURM_ARRAY_JOB_ID:-\${SLURM_JOB_ID:-?}}_\$task, partition \${SLURM_JOB_PARTITION:-?}"
  echo "# Started at \$started"
  echo "#"
} >"\$log" || exit 1
finish() {
  t1=\${EPOCHSECONDS:-\$(date +%s)}
  printf -v ended '%(%a %b %e %H:%M:%S %Z %Y)T' -1
  {
    echo "# Accounting: time=\$((t1 - t0)) threads=$num_threads"
    echo "# Ended (code \$1\$2) at \$ended, elapsed time \$((t1 - t0)) seconds"
  } >>"\$log"
  echo "\$1" >"\$status.tmp" && mv -f "\$status.tmp" "\$status"
}
# The command runs in its own process group (set -m). On SIGTERM (scancel, time
# limit) this script stops that group and waits for it before exiting: exiting
# first would re-parent the command to init, out of sight of proctrack/linuxproc,
# and leave it running after the job is gone.
set -m
bash -o pipefail -c "\$cmd" </dev/null >>"\$log" 2>&1 &
child=\$!
set +m
on_term() {
  kill -TERM -- "-\$child" 2>/dev/null || kill -TERM "\$child" 2>/dev/null
  wait "\$child"
  finish 143 "; killed by SIGTERM"
  exit 1
}
trap on_term TERM
wait "\$child"
ret=\$?
trap - TERM
finish "\$ret" ""
[ "\$ret" -eq 0 ]
EOF

{
  open my $sf, '>', "$script.tmp" or die "$me: cannot write $script.tmp: $!\n";
  print $sf $script_text;
  close $sf or die "$me: cannot write $script.tmp (disk full?)\n";
  chmod 0755, "$script.tmp";
  rename "$script.tmp", $script or die "$me: cannot rename $script.tmp: $!\n";
}

# ---- submit ---------------------------------------------------------------------------
my $array = "$jobstart-$jobend" . (defined $max_jobs_run ? "%$max_jobs_run" : '');
my $outpat = "$qdir/$stem" . ($jobend > $jobstart || defined $jobname ? '.%a' : '') . '.out';
my $sbatch = join ' ', $submit, @mapped, map({ shq($_) } @sbatch_extra),
  '--parsable', "--job-name=" . shq($stem), "--array=$array",
  '-o', shq($outpat), '-e', shq($outpat), '--open-mode=append', shq($script);

my ($jobid, $caught);
# squeue/scancel retry for ~18 s when the controller is down: bound them
my $timeout = (grep { -x "$_/timeout" } split /:/, $ENV{PATH} // '') ? 'timeout 5' : '';
sub cancel_and_exit {
  my ($sig) = @_;
  if (defined $jobid) {
    # scancel, and again every 2 s (a busy controller may time out), until the
    # tasks have left the queue (up to 30 s), so nothing is left running
    my ($until, $next, $gone) = (time + 30, 0, 0);
    while (time < $until) {
      if (time >= $next) {
        system("$timeout scancel $jobid");
        $next = time + 2;
      }
      my $q = `$timeout squeue -h -j $jobid -o %i 2>&1`;
      if ($? == 0 && $q !~ m/\S/ || $q =~ m/Invalid job id/i) { $gone = 1; last; }
      sleep 0.2;
    }
    print STDERR "$me: caught SIG$sig, " . ($gone ? 'cancelled' : 'tried to cancel (still in squeue)')
      . " Slurm job $jobid (" . (defined $jobname ? subst($logfile, '*') : $logfile) . ")\n";
  } else {
    print STDERR "$me: caught SIG$sig before the job was submitted\n";
  }
  exit($sig eq 'INT' ? 130 : 143);
}
$SIG{INT} = $SIG{TERM} = $SIG{HUP} = sub {
  my ($sig) = @_;
  $caught //= $sig;
  cancel_and_exit($sig) if defined $jobid;
};

my $out = `$sbatch 2>&1`;
my $rc = $?;
if ($rc != 0 || $out !~ m/^(\d+)(?:;\S+)?\s*$/m) {
  cancel_and_exit($caught) if $caught;
  print STDERR "$me: submitting failed (exit status " . ($rc >> 8) . "):\n  $sbatch\n$out";
  exit 1;
}
$jobid = $1;
cancel_and_exit($caught) if $caught;
if (open my $jl, '>>', "$qdir/$stem.jobs") {   # for humans: which Slurm job ran what
  print $jl "$jobid " . strftime('%Y-%m-%dT%H:%M:%S', localtime) . " $sbatch\n";
  close $jl;
}

# ---- kick: make the controller schedule the new job now ------------------------------
# slurmctld starts batch jobs only in its scheduling passes: the periodic one (about
# once a second, in _slurmctld_background) and the one run at once when a node reports
# a job's epilog complete (MESSAGE_EPILOG_COMPLETE; sent only when an Epilog is
# configured, else the node answers "already complete" and the pass waits for the
# next tick). The kick command, when configured, is a tiny job that starts at once
# and ends (e.g. `salloc --immediate --nice=-10000 true`): its epilog makes the controller
# run a pass, which starts our pending tasks ~0.1 s after sbatch instead of ~0.5-1 s.
# Worth it only on an idle test cluster (scripts/local_slurm.sh sets it up); its
# failure (no free CPU, no right to --nice=-10000) changes nothing.
if ($kick ne '' && !$caught) {
  system("$timeout $kick </dev/null >/dev/null 2>&1");
  cancel_and_exit($caught) if $caught;
}

# ---- wait -----------------------------------------------------------------------------
my $grace = $ENV{CEPSTRA_SLURM_GRACE} // 20;
my %pending = map { $_ => 1 } $jobstart .. $jobend;
my %code;                  # task -> exit code, from its status file (missing = failed)
my %gone_since;            # task -> time it was first seen missing from squeue
my $t_submit = time;
my $next_squeue = time + 1;

sub read_statuses {
  opendir(my $dh, $qdir) or return;   # one readdir instead of N stats; NFS-friendlier
  my @names = grep { index($_, $status_prefix) == 0 } readdir $dh;
  closedir $dh;
  for my $n (@names) {
    my $t = substr($n, length $status_prefix);
    next unless $t =~ m/^\d+$/ && $pending{$t};
    open my $fh, '<', "$qdir/$n" or next;
    my $c = <$fh>;
    close $fh;
    next unless defined $c && $c =~ m/^(\d+)/;   # being written: next round
    $code{$t} = $1;
    delete $pending{$t};
    delete $gone_since{$t};
  }
}

# Tasks of our job still in the queue (pending, running, completing), or undef when
# squeue cannot tell (controller busy or down: keep waiting).
my ($squeue_error, $squeue_failing_since, $squeue_warned);
my $squeue_timeout = $ENV{CEPSTRA_SLURM_SQUEUE_TIMEOUT} // 600;
sub queued_tasks {
  # squeue retries for ~18 s when the controller is down: bound it, so the status
  # files keep being polled meanwhile
  my $q = `$timeout squeue -h -r -j $jobid -o '%K %t' 2>&1`;
  my $st = $?;
  return {} if $st != 0 && $q =~ m/Invalid job id/i;   # purged after MinJobAge
  if ($st != 0) {
    $squeue_error = ($st >> 8) == 124 && $timeout ? "no answer within 5 s\n" : $q;
    return undef;
  }
  my %in;
  for (split /\n/, $q) {
    next unless m/^\s*(\d+)\s+(\S+)/;
    next if $2 =~ m/^(CD|F|CA|TO|NF|OOM|BF|DL|PR|SE|RV)$/;   # finished states
    $in{$1} = 1;
  }
  return \%in;
}

sub kick {   # make NFS clients look at the directory again
  if (open my $k, '>', "$qdir/.kick.$runid") { close $k; }
  unlink "$qdir/.kick.$runid";
}

while (%pending) {
  read_statuses();
  last unless %pending;
  my $now = time;
  if ($now >= $next_squeue || %gone_since) {
    my $in = queued_tasks();
    if (defined $in) {
      for my $t (keys %pending) {
        if ($in->{$t}) { delete $gone_since{$t}; next; }
        $gone_since{$t} //= $now;
      }
      kick() if %gone_since;
      read_statuses();
      for my $t (keys %gone_since) {
        next unless $pending{$t} && $now - $gone_since{$t} >= $grace;
        print STDERR "$me: task $t of Slurm job $jobid left the queue without writing its status "
          . "(it never ran, was killed, or its node failed); see " . subst($logfile, $t)
          . " and $qdir/$stem*.out\n";
        $code{$t} = -1;
        delete $pending{$t};
        delete $gone_since{$t};
      }
      $squeue_failing_since = undef;
    } else {
      # controller down or busy: keep waiting for status files, warn once a minute,
      # give up when it stays unreachable (tasks may be lost with it)
      $squeue_failing_since //= $now;
      if (!defined $squeue_warned || $now - $squeue_warned >= 60) {
        print STDERR "$me: warning: squeue -j $jobid failed: $squeue_error";
        $squeue_warned = $now;
      }
      if ($now - $squeue_failing_since >= $squeue_timeout) {
        print STDERR "$me: squeue has failed for ${squeue_timeout} s "
          . "(CEPSTRA_SLURM_SQUEUE_TIMEOUT); counting tasks " . join(' ', sort { $a <=> $b } keys %pending)
          . " as failed and cancelling job $jobid\n";
        system("$timeout scancel $jobid >/dev/null 2>&1");
        $code{$_} = -1 for keys %pending;
        %pending = ();
        last;
      }
    }
    $next_squeue = $now + 3;
  }
  last unless %pending;
  # poll every 0.02 s at first, then at 5% of the time waited so far (at most 2 s):
  # a short array's last task is seen ~10 ms after it ends (a recipe makes several
  # such calls in a row: the lag adds up; one readdir costs microseconds), and
  # polling costs at most a few percent of a long run's wall time
  my $delay = 0.05 * ($now - $t_submit);
  $delay = $delay < 0.02 ? 0.02 : ($delay > 2 ? 2 : $delay);
  sleep(%gone_since ? 0.5 : $delay);
}

unlink map { "$qdir/$status_prefix$_" } $jobstart .. $jobend;
my $total = $jobend - $jobstart + 1;
my @failed = grep { $code{$_} != 0 } sort { $a <=> $b } keys %code;
if (@failed) {
  if (@failed > 1 && @failed <= 5) {
    print STDERR "$me: failed tasks: @failed\n";
  }
  my $shown = ($total == 1 || @failed == 1) ? subst($logfile, $failed[0])
    : (defined $jobname ? subst($logfile, '*') : $logfile);
  print STDERR "$me: " . scalar(@failed) . " / $total failed, log is in $shown\n";
  exit 1;
}
exit 0;
