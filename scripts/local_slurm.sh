#!/usr/bin/env bash
# local_slurm.sh - a throw-away Slurm cluster on this one machine, to try recipes
# with `--cmd scripts/slurm.pl` without a real cluster (and to test slurm.pl in CI).
#
# Usage:
#   scripts/local_slurm.sh start [--nodes N]   start munged, slurmctld and N slurmd
#                                              (node1..nodeN, default 2); idempotent
#   scripts/local_slurm.sh status              daemons and sinfo; exit 1 if not running
#   scripts/local_slurm.sh stop [--keep]       cancel all jobs, stop every daemon by the
#                                              pid in its pid file, delete the state
#                                              directory (--keep: keep it, e.g. its logs)
#   then:  . <state dir>/env.sh   (start prints its lines: export SLURM_CONF=<state
#          dir>/slurm.conf and CEPSTRA_SLURM_KICK=..., which makes slurm.pl start jobs at once)
#
# Needs root and Debian's packages slurm-wlm + munge (`apt-get install
# --no-install-recommends slurm-wlm munge`; done by `start` when run as root with
# apt-get). No systemd: the daemons are started directly. The nodes share this host
# (Slurm's multiple-slurmd mode, one port per node), all talking over 127.0.0.1.
#
# Environment:
#   CEPSTRA_SLURM_DIR    state directory: config, munge key and socket, spool, logs,
#                        pid files (default /tmp/cepstra-slurm; keep it short, Unix
#                        socket paths inside it must stay under 108 bytes)
#   SLURMCTLD_PORT       controller port (default 6817); SLURMD_PORT: node1's port,
#                        nodeI uses SLURMD_PORT+I-1 (default 6818)
#   SLURM_CPUS           CPUs declared per node (default: nproc)
#   SLURM_MEM_MB         RealMemory per node in MB (default: 95% of MemTotal / N)
#   SLURM_EXTRA_CONF     extra lines appended to slurm.conf
#   SLURM_START_TIMEOUT  seconds to wait for the nodes to be idle (default 60)
#   SLURM_AUTO_INSTALL   1 (default): apt-get install the packages when missing
#
# Choices that matter (see the notes in the README section "Running on a cluster"):
# proctrack/linuxproc + task/none (cgroup plugins fail in containers and then Slurm
# reports jobs that never ran as COMPLETED 0), batch_sched_delay=0 (else array tasks
# wait 3 s), a no-op Epilog + slurm.pl's kick (jobs start ~0.1 s after sbatch instead of
# at the next 1-second scheduling pass), and a `shared` partition next to `debug`
# (Kaldi's slurm.pl default).
set -euo pipefail

log() { printf '[local_slurm] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

STATE_DIR=${CEPSTRA_SLURM_DIR:-/tmp/cepstra-slurm}
SLURMCTLD_PORT=${SLURMCTLD_PORT:-6817}
SLURMD_PORT=${SLURMD_PORT:-6818}
SLURM_START_TIMEOUT=${SLURM_START_TIMEOUT:-60}
SLURM_AUTO_INSTALL=${SLURM_AUTO_INSTALL:-1}

usage() {
  sed -n '4,13p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# alive PIDFILE COMM -> prints the pid if the pid file names a live process called COMM
alive() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 1
  echo "$pid"
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local t=$1 what=$2 i
  shift 2
  for ((i = 0; i < t * 10; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "timed out after ${t}s waiting for $what"
}

cmd_start() {
  local nodes=2
  while [ $# -gt 0 ]; do
    case $1 in
      --nodes) nodes=${2:-}; shift 2 ;;
      --nodes=*) nodes=${1#--nodes=}; shift ;;
      *) usage ;;
    esac
  done
  [[ $nodes =~ ^[1-9][0-9]*$ ]] || die "--nodes needs a positive integer"
  local t_start
  t_start=$(date +%s.%N)

  # ---- packages ----
  local missing=() c
  for c in munged mungekey munge unmunge slurmctld slurmd sbatch squeue sinfo scontrol scancel; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    local hint="apt-get install --no-install-recommends slurm-wlm munge"
    [ "$(id -u)" = 0 ] || die "missing ${missing[*]}; as root run: $hint"
    [ "$SLURM_AUTO_INSTALL" = 1 ] || die "missing ${missing[*]}; run: $hint"
    command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get: install Slurm and munge"
    log "installing slurm-wlm + munge (missing: ${missing[*]})"
    # postinst tries to start the services; without systemd that only prints a warning
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
  fi
  [ "$(id -u)" = 0 ] || die "must run as root (slurmd starts jobs as their owner)"

  # ---- layout ----
  mkdir -p "$STATE_DIR"
  STATE_DIR=$(cd "$STATE_DIR" && pwd -P)
  # slurmd puts <spool>/<node>/<node>_<jobid>.<step> sockets there: keep room
  [ $((${#STATE_DIR} + 40)) -lt 108 ] || die "CEPSTRA_SLURM_DIR too long for Unix sockets: $STATE_DIR"
  # munged wants every directory above its socket searchable by all
  chmod 755 "$STATE_DIR"
  local munge_dir=$STATE_DIR/munge conf=$STATE_DIR/slurm.conf
  local socket=$munge_dir/munge.socket
  mkdir -p "$munge_dir" "$STATE_DIR/ctld" "$STATE_DIR/spool" "$STATE_DIR/log" "$STATE_DIR/run"
  chmod 755 "$munge_dir"
  export SLURM_CONF=$conf

  # ---- ports: fail before starting anything ----
  local pid i port
  if ! alive "$STATE_DIR/run/slurmctld.pid" slurmctld >/dev/null; then
    local ports=("$SLURMCTLD_PORT")
    for ((i = 1; i <= nodes; i++)); do
      alive "$STATE_DIR/run/slurmd-node$i.pid" slurmd >/dev/null || ports+=($((SLURMD_PORT + i - 1)))
    done
    for port in "${ports[@]}"; do
      port_busy "$port" && die "port $port is in use (another Slurm?); set SLURMCTLD_PORT / SLURMD_PORT"
    done
  fi

  # ---- munge: our own daemon, key and socket ----
  if [ ! -s "$munge_dir/munge.key" ]; then
    mungekey --create --keyfile="$munge_dir/munge.key" 2>/dev/null ||
      dd if=/dev/urandom of="$munge_dir/munge.key" bs=1024 count=1 status=none
  fi
  chmod 600 "$munge_dir/munge.key"
  if pid=$(alive "$munge_dir/munged.pid" munged); then
    log "munged already running (pid $pid)"
  else
    rm -f "$socket" "$socket.lock"
    # --force: a parent directory of mode 0700 (e.g. from mktemp -d) is only a warning
    munged --force --socket="$socket" --key-file="$munge_dir/munge.key" \
      --log-file="$munge_dir/munged.log" --pid-file="$munge_dir/munged.pid" \
      --seed-file="$munge_dir/munged.seed" ||
      { tail -5 "$munge_dir/munged.log" >&2 || true; die "munged failed to start"; }
    wait_for 10 "munged socket" bash -c "munge -n -S '$socket' | unmunge -S '$socket'"
    log "munged started (pid $(cat "$munge_dir/munged.pid"))"
  fi

  # ---- slurm.conf, rewritten only while slurmctld is down ----
  if pid=$(alive "$STATE_DIR/run/slurmctld.pid" slurmctld); then
    log "slurmctld already running (pid $pid); keeping its $conf"
  else
    local cpus=${SLURM_CPUS:-$(nproc)} mem=${SLURM_MEM_MB:-} true_bin=/bin/true
    [ -x "$true_bin" ] || true_bin=/usr/bin/true
    if [ -z "$mem" ]; then
      local total_mb margin
      total_mb=$(($(awk '/^MemTotal:/{print $2}' /proc/meminfo) / 1024))
      margin=$((total_mb / 20 > 512 ? total_mb / 20 : 512))
      mem=$(((total_mb - margin) / nodes))
    fi
    {
      cat <<EOF
# written by scripts/local_slurm.sh: a $nodes-node Slurm on localhost
ClusterName=cepstra
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$SLURMCTLD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$STATE_DIR/ctld
SlurmdSpoolDir=$STATE_DIR/spool/%n
SlurmctldPidFile=$STATE_DIR/run/slurmctld.pid
SlurmdPidFile=$STATE_DIR/run/slurmd-%n.pid
SlurmctldLogFile=$STATE_DIR/log/slurmctld.log
SlurmdLogFile=$STATE_DIR/log/slurmd-%n.log
# cgroup plugins fail without a cgroup hierarchy (containers): linuxproc + task/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
# the default batch_sched_delay=3 keeps array tasks pending for 3 s
SchedulerParameters=batch_sched_delay=0
# Start jobs without waiting for the next 1-second scheduling pass: slurmctld starts a
# pending batch job only in a scheduling pass, run by its background thread about once a
# second, or at once when a node reports a job's epilog complete. A node sends that
# report only when an Epilog is configured (else it answers "already complete" and the
# pass waits for the next tick), so a no-op Epilog makes every finished job (or array
# task) start the next pending one at once. slurm.pl's kick (\$CEPSTRA_SLURM_KICK,
# written to env.sh) uses it: a tiny salloc job ended right after each sbatch starts the
# new array within ~0.1 s instead of ~0.5-1 s (9 s -> 5 s for egs/synth_digits).
Epilog=$true_bin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
EOF
      for ((i = 1; i <= nodes; i++)); do
        echo "NodeName=node$i NodeHostname=localhost NodeAddr=127.0.0.1 Port=$((SLURMD_PORT + i - 1)) CPUs=$cpus RealMemory=$mem State=UNKNOWN"
      done
      echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
      echo "# Kaldi's utils/parallel/slurm.pl submits to '-p shared' by default"
      echo "PartitionName=shared Nodes=ALL Default=NO MaxTime=INFINITE State=UP"
      [ -z "${SLURM_EXTRA_CONF:-}" ] || printf '%s\n' "$SLURM_EXTRA_CONF"
    } >"$conf.tmp"
    mv "$conf.tmp" "$conf"
    env_lines >"$STATE_DIR/env.sh"
    slurmctld || die "slurmctld failed to start; see $STATE_DIR/log/slurmctld.log"
    wait_for 20 "slurmctld to answer" scontrol ping
    log "slurmctld started (pid $(cat "$STATE_DIR/run/slurmctld.pid"))"
  fi

  # ---- one slurmd per node ----
  local node
  for node in $(sinfo -h -N -o '%N' | sort -u); do
    mkdir -p "$STATE_DIR/spool/$node"
    if pid=$(alive "$STATE_DIR/run/slurmd-$node.pid" slurmd); then
      log "slurmd $node already running (pid $pid)"
      continue
    fi
    port=$(sed -n "s/^NodeName=$node .*Port=\([0-9]*\).*/\1/p" "$conf" | head -1)
    if [ -n "$port" ] && port_busy "$port"; then die "port $port for $node is in use; set SLURMD_PORT"; fi
    slurmd -N "$node" || die "slurmd $node failed to start; see $STATE_DIR/log/slurmd-$node.log"
    wait_for 10 "slurmd $node pid file" test -s "$STATE_DIR/run/slurmd-$node.pid"
    log "slurmd $node started (pid $(cat "$STATE_DIR/run/slurmd-$node.pid"))"
  done

  # ---- wait until every node is usable ----
  local deadline=$(($(date +%s) + SLURM_START_TIMEOUT))
  until nodes_ready; do
    # a drain survives restarts (kept in ctld/); ReturnToService only revives DOWN nodes
    if sinfo -h -N -o '%T' 2>/dev/null | grep -q drain; then
      sinfo -R >&2 || true
      die "node(s) drained; fix the cause (see $STATE_DIR/log), then 'scontrol update NodeName=ALL State=RESUME', or stop and start again"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      sinfo -N -l >&2 || true
      tail -n 20 "$STATE_DIR"/log/*.log >&2 || true
      die "nodes not idle after ${SLURM_START_TIMEOUT}s"
    fi
    sleep 0.2
  done
  log "cluster up in $(awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s:"
  sinfo >&2
  log "stop it with: CEPSTRA_SLURM_DIR=$STATE_DIR $0 stop"
  log "use it with:"
  env_lines
}

# The client environment of the cluster (also written to $STATE_DIR/env.sh). The kick
# command is run by slurm.pl after each sbatch: a job that gets a CPU at once (root's
# --nice=-10000 puts it before the pending arrays: with priority/basic each job gets the
# previous priority - 1, so --nice=-1 loses to a second array submitted at the same time,
# e.g. make_mfcc of train and test; --immediate gives up when no CPU is free)
# and ends, whose epilog report makes slurmctld schedule the pending array at once (see
# Epilog in slurm.conf). Only worth it on an idle test cluster like this one.
env_lines() {
  printf 'export SLURM_CONF=%q\n' "$STATE_DIR/slurm.conf"
  printf "export CEPSTRA_SLURM_KICK='%s'\n" 'salloc --immediate=1 --nice=-10000 --ntasks=1 --time=1 --job-name=slurm.pl-kick --quiet true'
}

nodes_ready() {
  local states
  states=$(sinfo -h -N -o '%T' 2>/dev/null) || return 1
  [ -n "$states" ] || return 1
  ! grep -qvxE 'idle|mixed|allocated|completing' <<<"$states"
}

cmd_status() {
  [ -d "$STATE_DIR" ] || { log "not running (no $STATE_DIR)"; return 1; }
  local ok=0 pid f
  if pid=$(alive "$STATE_DIR/munge/munged.pid" munged); then log "munged pid $pid"; else log "munged down"; ok=1; fi
  if pid=$(alive "$STATE_DIR/run/slurmctld.pid" slurmctld); then log "slurmctld pid $pid"; else log "slurmctld down"; ok=1; fi
  for f in "$STATE_DIR"/run/slurmd-*.pid; do
    [ -e "$f" ] || continue
    if pid=$(alive "$f" slurmd); then log "$(basename "$f" .pid) pid $pid"; else log "$(basename "$f" .pid) down"; ok=1; fi
  done
  if [ "$ok" = 0 ]; then
    export SLURM_CONF=$STATE_DIR/slurm.conf
    sinfo -N >&2 || ok=1
    squeue >&2 || true
    env_lines
  fi
  return "$ok"
}

# stop_pids "WHAT" PID... : SIGTERM, wait up to 10 s, then SIGKILL
stop_pids() {
  local what=$1 pid i left
  shift
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    left=()
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && left+=("$pid"); done
    [ ${#left[@]} -eq 0 ] && { log "stopped $what (pid $*)"; return 0; }
    sleep 0.1
  done
  log "$what (pid ${left[*]}) ignored SIGTERM for 10 s: SIGKILL"
  kill -KILL "${left[@]}" 2>/dev/null || true
}

cmd_stop() {
  local keep=0
  case ${1:-} in
    --keep) keep=1 ;;
    '') ;;
    *) usage ;;
  esac
  [ -d "$STATE_DIR" ] || { log "no $STATE_DIR: nothing to stop"; return 0; }
  STATE_DIR=$(cd "$STATE_DIR" && pwd -P)
  export SLURM_CONF=$STATE_DIR/slurm.conf
  local pid f i d

  # 1. cancel all jobs while the controller runs: a killed slurmd leaves its jobs'
  #    slurmstepd running (re-parented to init)
  if [ -f "$SLURM_CONF" ] && alive "$STATE_DIR/run/slurmctld.pid" slurmctld >/dev/null &&
    timeout 5 scontrol ping >/dev/null 2>&1; then
    local jobs
    mapfile -t jobs < <(squeue -h -o '%A' 2>/dev/null | sort -u)
    if [ ${#jobs[@]} -gt 0 ]; then
      log "cancelling jobs: ${jobs[*]}"
      scancel "${jobs[@]}" 2>/dev/null || true
      for ((i = 0; i < 150; i++)); do
        [ -z "$(squeue -h -o '%A' 2>/dev/null)" ] && break
        sleep 0.1
      done
    fi
  fi

  # 2. slurmd(s) and slurmctld together (each takes ~2 s to exit), then munged
  local pids=() names=()
  for f in "$STATE_DIR"/run/slurmd-*.pid; do
    [ -e "$f" ] || continue
    if pid=$(alive "$f" slurmd); then pids+=("$pid"); names+=("$(basename "$f" .pid)"); fi
  done
  if pid=$(alive "$STATE_DIR/run/slurmctld.pid" slurmctld); then pids+=("$pid"); names+=(slurmctld); fi
  stop_pids "${names[*]}" "${pids[@]}"
  rm -f "$STATE_DIR"/run/slurmd-*.pid "$STATE_DIR/run/slurmctld.pid"
  if pid=$(alive "$STATE_DIR/munge/munged.pid" munged); then stop_pids munged "$pid"; fi
  rm -f "$STATE_DIR/munge/munged.pid"

  # 3. any slurmstepd of this cluster still alive (normally none after step 1)
  for d in /proc/[0-9]*; do
    [ "$(cat "$d/comm" 2>/dev/null)" = slurmstepd ] || continue
    if tr '\0' '\n' <"$d/environ" 2>/dev/null | grep -qxF "SLURM_CONF=$SLURM_CONF" ||
      [[ $(readlink "$d/cwd" 2>/dev/null) == "$STATE_DIR"/* ]]; then
      stop_pids slurmstepd "${d#/proc/}"
    fi
  done

  if [ "$keep" = 0 ]; then
    rm -rf "$STATE_DIR"
    log "removed $STATE_DIR"
  fi
  log "stopped"
}

case ${1:-} in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  status) shift; cmd_status ;;
  *) usage ;;
esac
