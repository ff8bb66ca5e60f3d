#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, to try `rlhf study --slurm` (and for CI).
#
#   sudo scripts/slurm-local.sh start    install slurm-wlm + munge if missing, write slurm.conf,
#                                        start munged, slurmctld and slurmd, wait for the node
#   sudo scripts/slurm-local.sh status   sinfo and squeue
#   sudo scripts/slurm-local.sh stop     stop the three daemons (started by this script)
#
# Needs root (it installs packages and starts daemons). The node gets every CPU (nproc) and the
# memory `free` reports; no cgroup plugin is used (ProctrackType=proctrack/linuxproc,
# TaskPlugin=task/none), so it also works in a container.
set -euo pipefail

CONF_DIR=/etc/slurm
STATE=/var/lib/rlhf-slurm-local
NODE=$(hostname -s)

need_root() {
    if [ "$(id -u)" != 0 ]; then echo "slurm-local.sh: run as root (it installs packages and starts daemons)" >&2; exit 1; fi
}

install() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null && command -v sbatch >/dev/null; then
        return
    fi
    echo "slurm-local.sh: installing slurm-wlm and munge (apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

write_conf() {
    local cpus mem
    cpus=$(nproc)
    # RealMemory in MB, a little under the total so that slurmd does not mark the node invalid.
    mem=$(free -m | awk '/^Mem:/ { print int($2 * 0.9) }')
    mkdir -p "$CONF_DIR" "$STATE/ctld" "$STATE/d" /var/log/slurm /run/munge
    cat > "$CONF_DIR/slurm.conf" <<EOF
# Written by scripts/slurm-local.sh: one node, this machine.
ClusterName=rlhf-local
SlurmctldHost=$NODE
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
# Start a waiting array task as soon as a CPU frees (the defaults wait up to 3 s per job).
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MinJobAge=300
SlurmdTimeout=300
InactiveLimit=0
KillWait=5
NodeName=$NODE CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
    # No cgroup.conf: nothing here uses the cgroup plugins.
    rm -f "$CONF_DIR/cgroup.conf"
}

start_munge() {
    if pgrep -x munged >/dev/null; then return; fi
    mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
    if [ ! -s /etc/munge/munge.key ]; then
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
    fi
    chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge 2>/dev/null || true
    chmod 0400 /etc/munge/munge.key
    chmod 0700 /etc/munge
    if id munge >/dev/null 2>&1; then
        su -s /bin/sh munge -c munged 2>/dev/null || munged --force
    else
        munged --force
    fi
}

start() {
    need_root
    install
    write_conf
    start_munge
    pgrep -x slurmctld >/dev/null || slurmctld -c   # -c: a clean state (no jobs of a previous start)
    pgrep -x slurmd >/dev/null || slurmd
    for _ in $(seq 1 60); do
        if sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
            echo "slurm-local.sh: node $NODE up ($(nproc) CPUs)" >&2
            sinfo
            return
        fi
        # A node left down or drained by a previous start: bring it back.
        scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
        sleep 1
    done
    echo "slurm-local.sh: the node did not come up within 60 s; see /var/log/slurm/slurmctld.log and slurmd.log" >&2
    sinfo >&2 || true
    exit 1
}

stop() {
    need_root
    for d in slurmd slurmctld; do
        if [ -f "$STATE/$d.pid" ]; then kill "$(cat "$STATE/$d.pid")" 2>/dev/null || true; fi
    done
    if [ -f /run/munge/munged.pid ]; then kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true; fi
    echo "slurm-local.sh: stopped" >&2
}

status() {
    if ! command -v sinfo >/dev/null; then echo "slurm-local.sh: Slurm is not installed (run: scripts/slurm-local.sh start)"; exit 1; fi
    sinfo && squeue
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
