#!/usr/bin/env perl
# run.pl - run a command, or an array of N commands, on this machine.
#
# Same contract as Kaldi's utils/parallel/run.pl, so recipes switch to
# scripts/slurm.pl by changing $cmd in cmd.sh and nothing else:
#
#   run.pl [options] [JOB=1:N] LOGFILE COMMAND...
#
#   JOB=1:N   run N copies; every occurrence of the variable name (here JOB, any
#             identifier works: TASK=3:5) in LOGFILE and COMMAND is replaced by
#             the task number. JOB=4 runs the single task 4.
#   LOGFILE   created with its directory; receives a header, everything the
#             command prints on stdout and stderr, and a footer:
#               # <command>
#               # Running on <hostname>
#               # Started at <date>
#               ...output...
#               # Accounting: time=<seconds> threads=<n>
#               # Ended (code <n>) at <date>, elapsed time <seconds> seconds
#   COMMAND   joined into one bash command line (arguments that contain white
#             space are quoted, others are taken as they are, so an unquoted '|'
#             is a pipe) and run with `bash -o pipefail -c`, stdin from /dev/null:
#             a pipeline fails when any of its commands fails (Kaldi's run.pl runs
#             it with plain `bash -c`, where only the last command counts).
#             A plain command (one program and its arguments: no shell syntax) is
#             started directly, without the bash, which saves a few ms per task.
#
# Options (may come before or after JOB=...):
#   --max-jobs-run N, -tc N   at most N tasks at once (default: number of CPUs)
#   --mem X, --num-threads N, --gpu N, --time T, --config F and any other
#   `--name value` or `-x value` pair: accepted and ignored (they only mean
#   something to a queue; --num-threads is written to the Accounting line).
#
# Exit status 0 if every task exited 0; otherwise 1 and the message
#   run.pl: <failed> / <total> failed, log is in <LOGFILE with JOB as *>
# SIGINT/SIGTERM/SIGHUP stop all running tasks (their process groups) first.
use strict;
use warnings;
# No modules beyond strict/warnings: POSIX, File::Path, Sys::Hostname and File::Basename
# take 30 of the 40 ms a run.pl call costs, and a recipe makes a dozen calls.
use constant WNOHANG => 1;    # <sys/wait.h> on Linux and the BSDs

# mkdir -p: each missing component in turn
sub make_path {
  my ($dir) = @_;
  my $p = $dir =~ m{^/} ? '' : '.';
  for my $part (grep { length } split m{/}, $dir) {
    $p .= "/$part";
    mkdir $p unless -d $p;
  }
}

sub dirname { my ($f) = @_; return $f =~ m{^(.*)/[^/]*$}s ? (length $1 ? $1 : '/') : '.'; }

sub hostname {
  if (open my $h, '<', '/proc/sys/kernel/hostname') {
    my $n = <$h>;
    close $h;
    if (defined $n) { chomp $n; return $n if length $n; }
  }
  my $n = $ENV{HOSTNAME} // `uname -n 2>/dev/null` // 'localhost';
  chomp $n;
  return $n;
}

my $me = 'run.pl';

sub usage {
  print STDERR <<"EOF";
Usage: $me [options] [JOB=1:N] <log-file> <command...>
e.g.:  $me JOB=1:4 exp/x/log/acc.JOB.log cepstra acc-stats ark:feats.JOB.ark x.JOB.acc
       $me exp/x/log/sum.log cepstra sum-accs x.acc x.*.acc
Options: --max-jobs-run N (-tc N)  at most N tasks at once (default: number of CPUs)
         --mem, --num-threads, --gpu, --time, --config: accepted and ignored
EOF
  exit 2;
}

my ($max_jobs_run, $num_threads) = (0, 1);
my ($jobname, $jobstart, $jobend);
usage() if @ARGV < 2;

# Options and JOB=a:b may be interleaved, as in Kaldi.
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
  if ($a eq '-V') { next ARG; }    # GridEngine flag without argument
  my $val = shift @ARGV;
  if ($a eq '--max-jobs-run' || $a eq '-tc') {
    die "$me: --max-jobs-run needs a positive integer, got '$val'\n" unless $val =~ m/^[1-9]\d*$/;
    $max_jobs_run = $val if $max_jobs_run == 0 || $val < $max_jobs_run;
  } elsif ($a eq '--num-threads') {
    $num_threads = $val;
  } elsif ($a eq '-pe') {          # GridEngine "-pe smp N" takes two arguments
    shift @ARGV;
  }
  # everything else (--mem 2G, --gpu 0, --config f, -q all.q, ...) is ignored
}
usage() if @ARGV < 2;

my $logfile = shift @ARGV;
if (!defined $jobname) { ($jobstart, $jobend) = (1, 1); }
if (defined $jobname && $jobend > $jobstart && index($logfile, $jobname) < 0) {
  die "$me: $jobname=$jobstart:$jobend runs several tasks but the log file '$logfile' "
    . "does not contain $jobname; they would all write to it\n";
}

# Kaldi's quoting rule: words without white space go as they are (so '|', '>',
# '&&' keep their shell meaning), others are quoted.
my $cmd = join ' ', map {
  m/^\S+$/ ? $_ : (m/"/ ? "'$_'" : "\"$_\"")
} @ARGV;

if ($max_jobs_run == 0) {
  $max_jobs_run = 0;
  if (open my $ci, '<', '/proc/cpuinfo') {
    while (<$ci>) { $max_jobs_run++ if m/^processor\s*:/; }
    close $ci;
  }
  if ($max_jobs_run == 0) {
    my $n = `getconf _NPROCESSORS_ONLN 2>/dev/null`;
    $max_jobs_run = (defined $n && $n =~ m/^(\d+)/ && $1 > 0) ? $1 : 4;
  }
}

my $host = hostname();
my %running;          # pid -> task
my %code;             # task -> exit code (0 = success)
my $caught;

# On a signal: TERM every running task's process group (the reaping loop below
# then sees them end), KILL what is left after 5 s, and exit 130/143 at the end.
sub stop_all {
  my ($sig) = @_;
  return if $caught;
  $caught = $sig;
  kill 'TERM', map { -$_ } keys %running;
  $SIG{ALRM} = sub { kill 'KILL', map { -$_ } keys %running; };
  alarm 5;
}
$SIG{INT} = $SIG{TERM} = $SIG{HUP} = \&stop_all;

sub subst {
  my ($s, $task) = @_;
  $s =~ s/\Q$jobname\E/$task/g if defined $jobname;
  return $s;
}

# Runs in the forked child: header, command, footer; exits 0 or 1.
sub run_task {
  my ($task) = @_;
  # The driver signals our whole process group: the command gets the signal (a
  # handler is reset by exec), we wait for it to end and still write the footer.
  my $sig_seen;
  $SIG{INT} = $SIG{TERM} = $SIG{HUP} = sub { $sig_seen = $_[0]; };
  setpgrp(0, 0);    # own process group, so the driver can stop the whole pipeline
  my $log = subst($logfile, $task);
  my $c = subst($cmd, $task);
  my $dir = dirname($log);
  eval { make_path($dir) } unless -d $dir;
  open my $lf, '>', $log or do { print STDERR "$me: cannot write log file $log: $!\n"; exit 1 };
  my $t0 = time;
  print $lf "# $c\n# Running on $host\n# Started at " . localtime($t0) . "\n#\n";
  close $lf;
  open STDIN, '<', '/dev/null';
  open STDOUT, '>>', $log or exit 1;
  open STDERR, '>&', \*STDOUT or exit 1;
  # A plain command (no shell syntax: pipes, redirections, quotes, globs, variables, an assignment
  # first) is started directly, without a bash in between (a few ms per task); anything else runs
  # with bash -o pipefail.
  # (Bash's keywords and builtins are left to bash, and so is a command that cannot be started.)
  my @words = split / /, $c;
  my $plain = $c !~ m/[|&;<>()\$`\\"'*?\[\]#~{}!\n]/ && @words && $words[0] !~ m/=/
    && $words[0] !~ m/^(time|exit|cd|\.|source|export|set|unset|eval|exec|wait|read|ulimit|umask|trap|shift|return|builtin|command|declare|typeset|local|type|hash|alias|let|if|for|while|until|case|select|function|coproc|kill|echo|printf|test|true|false|pwd)$/;
  my $st = -1;
  if ($plain) { no warnings 'exec'; system { $words[0] } @words; $st = $?; }
  if ($st == -1) { system('bash', '-o', 'pipefail', '-c', $c); $st = $?; }
  my $t1 = time;
  my $how = $st == -1 ? 'code 127; could not start bash'
    : ($st & 127) ? sprintf('code %d; signal %d', 128 + ($st & 127), $st & 127)
    : sprintf('code %d', $st >> 8);
  print STDOUT "# Accounting: time=" . ($t1 - $t0) . " threads=$num_threads\n";
  print STDOUT "# Ended ($how) at " . localtime($t1) . ", elapsed time " . ($t1 - $t0) . " seconds\n";
  close STDOUT;
  exit($st == 0 ? 0 : 1);    # no END blocks, STDOUT closed: nothing of the parent's is flushed twice
}

sub reap {
  my ($block) = @_;
  while (%running) {
    my $pid = waitpid(-1, $block ? 0 : WNOHANG);
    return if $pid == 0;
    die "$me: lost track of child processes\n" if $pid < 0;
    next unless exists $running{$pid};
    $code{ delete $running{$pid} } = $?;
    return if $block;
  }
}

for my $task ($jobstart .. $jobend) {
  reap(1) while !$caught && keys(%running) >= $max_jobs_run;
  last if $caught;
  my $pid = fork();
  die "$me: fork failed: $!\n" unless defined $pid;
  run_task($task) if $pid == 0;
  setpgrp($pid, $pid);    # also here, so a signal right after fork finds the group
  $running{$pid} = $task;
}
reap(1) while !$caught && %running;

if ($caught) {
  reap(1) while %running;
  print STDERR "$me: caught SIG$caught, stopped the running tasks; logs are in "
    . (defined $jobname ? subst($logfile, '*') : $logfile) . "\n";
  exit($caught eq 'INT' ? 130 : 143);
}

my $total = $jobend - $jobstart + 1;
my $failed = grep { !defined $code{$_} || $code{$_} != 0 } $jobstart .. $jobend;
if ($failed) {
  my $shown = defined $jobname ? subst($logfile, '*') : $logfile;
  $shown = subst($logfile, $jobstart) if $total == 1;
  print STDERR "$me: $failed / $total failed, log is in $shown\n";
  exit 1;
}
exit 0;
