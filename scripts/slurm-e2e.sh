#!/usr/bin/env bash
# End to end on a running Slurm cluster (scripts/slurm-local.sh start makes one on this machine):
#  1. a small study (8 runs) through `rlhf study --slurm` as 8 array tasks, then its report job;
#     results.csv must equal a local run's, wall times aside;
#  2. an array task cancelled mid-run (scancel): the report says the run is missing, and
#     `rlhf study DIR --slurm` again submits only that task, which computes only that run.
# Skipped, with a notice, when no cluster answers.
#
#   scripts/slurm-e2e.sh [path/to/rlhf]      (default: .build/release/rlhf)
set -euo pipefail
cd "$(dirname "$0")/.."
RLHF=$(realpath "${1:-.build/release/rlhf}")
if ! command -v sbatch >/dev/null || ! sinfo -h >/dev/null 2>&1; then
    echo "SKIPPED: Slurm end-to-end test: no Slurm cluster answers here (sbatch/sinfo missing or down); start one with: sudo scripts/slurm-local.sh start" >&2
    exit 0
fi
WORK=$(mktemp -d /tmp/rlhf-slurm-e2e.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "slurm-e2e: FAILED: $*" >&2; exit 1; }

# Waits until none of the given jobs is in squeue (timeout in seconds as $1).
wait_jobs() {
    local timeout=$1; shift
    local ids; ids=$(IFS=,; echo "$*")
    local start=$SECONDS
    while squeue -h -j "$ids" 2>/dev/null | grep -q .; do
        if (( SECONDS - start > timeout )); then scancel "$@" || true; fail "jobs $ids still queued after ${timeout}s"; fi
        sleep 1
    done
}
# The last report job id of a study folder.
report_job() { awk '$1 == "report" { id = $2 } END { print id }' "$1/slurm/jobs"; }
# results.csv without its wall_seconds column.
strip_wall() { awk -F, -v OFS=, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "wall_seconds") w = i } { $w = ""; print }' "$1"; }

# 1. Same results as a local run, over 8 array tasks.
cat > "$WORK/small.yaml" <<'EOF'
name: slurm-e2e
environments: [classic]
seeds: 2
budgets: [10000, 100000]
evaluations: 5
algorithms: [zpg, zbcpg]
EOF
"$RLHF" study "$WORK/small.yaml" --out "$WORK/local" --workers 2 --quiet >/dev/null
job=$("$RLHF" study "$WORK/small.yaml" --out "$WORK/cluster" --slurm --max-parallel 8)
report=$(report_job "$WORK/cluster")
echo "slurm-e2e: array job $job, report job $report" >&2
wait_jobs 300 "$job" "$report"
tasks=$(ls "$WORK/cluster/slurm/logs" | grep -c "^${job}_" || true)
(( tasks >= 4 )) || fail "only $tasks array task logs (want ≥ 4): $(ls "$WORK/cluster/slurm/logs")"
[ -f "$WORK/cluster/report.md" ] || fail "no report.md; report job log: $(cat "$WORK/cluster/slurm/logs/report_$report.out" 2>/dev/null)"
diff <(strip_wall "$WORK/local/results.csv") <(strip_wall "$WORK/cluster/results.csv") >/dev/null \
    || fail "results.csv differs from the local run's: $(diff <(strip_wall "$WORK/local/results.csv") <(strip_wall "$WORK/cluster/results.csv") | head -5)"
echo "slurm-e2e: 8 runs over $tasks array tasks; results.csv equals the local run's (wall times aside)" >&2

# 2. A task cancelled mid-run is recomputed on resubmission, the others are not.
cat > "$WORK/slow.yaml" <<'EOF'
name: slurm-e2e-cancel
environments: [classic]
seeds: 4
budgets: [3000000]
evaluations: 3
algorithms: [zpg]
EOF
job=$("$RLHF" study "$WORK/slow.yaml" --out "$WORK/cancel" --slurm)
report=$(report_job "$WORK/cancel")
victim=""
for _ in $(seq 1 600); do
    # A run with a claim and no result: its task is computing it.
    for d in "$WORK"/cancel/runs/*/; do
        if ls "$d" 2>/dev/null | grep -q '^claim\.' && [ ! -f "$d/run.json" ]; then victim=$(basename "$d"); break; fi
    done
    [ -n "$victim" ] && break
    sleep 0.1
done
[ -n "$victim" ] || fail "no run seen in progress"
# The task computing the victim: the one whose shard holds it (ask the claim's pid for its task id).
pid=$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' "$WORK"/cancel/runs/"$victim"/claim.*)
task_id=$(tr '\0' '\n' < /proc/"$pid"/environ | sed -n 's/^SLURM_ARRAY_TASK_ID=//p')
scancel "${job}_${task_id}"
wait_jobs 300 "$job" "$report"
[ ! -f "$WORK/cancel/runs/$victim/run.json" ] || fail "the cancelled run finished anyway"
grep -q "Incomplete" "$WORK/cancel/report.md" || fail "the report does not say a run is missing"
before=$(for f in "$WORK"/cancel/runs/*/run.json; do md5sum "$f"; done)
"$RLHF" study "$WORK/cancel" --status >&2 || true
job2=$("$RLHF" study "$WORK/cancel" --slurm)
grep -q "^#SBATCH --array=${task_id}$" "$WORK/cancel/slurm/study.sbatch" || fail "the resubmission is not only task $task_id: $(grep array "$WORK/cancel/slurm/study.sbatch")"
report2=$(report_job "$WORK/cancel")
wait_jobs 300 "$job2" "$report2"
[ -f "$WORK/cancel/runs/$victim/run.json" ] || fail "the cancelled run was not recomputed"
for f in "$WORK"/cancel/runs/*/run.json; do
    [ "$(basename "$(dirname "$f")")" = "$victim" ] && continue
    grep -qF "$(md5sum "$f")" <<< "$before" || fail "$f was recomputed"
done
grep -q "Incomplete" "$WORK/cancel/report.md" && fail "the report still says runs are missing"
echo "slurm-e2e: task $task_id cancelled mid-run; resubmission ran only that task and computed only $victim" >&2
echo "slurm-e2e: passed" >&2
