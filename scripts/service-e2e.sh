#!/usr/bin/env bash
# End-to-end check of training with feedback through the labeling service (issue 14, item 3):
# a run whose pairs are answered by seeded simulated annotators over HTTP (rlhf annotate) must
# give exactly the numbers of the same run in process; a trainer killed -9 while it waits for
# answers and resumed from its checkpoint must too, with every pair answered exactly M times.
#
#   scripts/service-e2e.sh .build/release/rlhf [--db postgres://…]
set -euo pipefail
RLHF=$(realpath "$1"); shift
DB=""
if [ "${1:-}" = "--db" ]; then DB=$2; shift 2; fi
WORK=$(mktemp -d /tmp/rlhf-service-e2e.XXXXXX)
[ -n "$DB" ] || DB=$WORK/labels.db
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true; jobs -p | xargs -r kill 2>/dev/null || true; }
trap cleanup EXIT
fail() { echo "FAIL service e2e: $*" >&2; exit 1; }

M=4
"$RLHF" serve annotators add "admin-$$" --admin --db "$DB" | tail -1 > "$WORK/admin.token"
for i in $(seq 1 $M); do "$RLHF" serve annotators add "bot-$$-$i" --db "$DB" | tail -1; done > "$WORK/bots.tokens"
"$RLHF" serve --db "$DB" --port 0 > "$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do grep -q "listening on" "$WORK/serve.log" && break; sleep 0.1; done
URL=$(grep -o 'http://[^/ ]*' "$WORK/serve.log" | head -1)
[ -n "$URL" ] || fail "the service did not start: $(cat "$WORK/serve.log")"
export RLHF_SERVICE_TOKEN=$(cat "$WORK/admin.token")
echo "service at $URL, database $DB"

run_pair() {  # ALGORITHM QUERIES EXTRA...: in process, then through the service; compares the JSON
    local algorithm=$1 queries=$2; shift 2
    local common=(--algorithm "$algorithm" --queries "$queries" --evaluators $M --seed 7 --link weibull --threads 2 "$@")
    "$RLHF" train "${common[@]}" --json --quiet > "$WORK/$algorithm-local.json"
    "$RLHF" annotate --server "$URL" --project "e2e-$$" --tokens-file "$WORK/bots.tokens" --link weibull --idle-exit 15 > "$WORK/$algorithm-bots.log" &
    local bots=$!
    "$RLHF" train "${common[@]}" --feedback service --server "$URL" --project "e2e-$$" --simulated-annotators \
        --poll 0.02 --feedback-timeout 60 --json --quiet > "$WORK/$algorithm-service.json"
    wait $bots || fail "the bots failed: $(cat "$WORK/$algorithm-bots.log")"
    python3 - "$WORK/$algorithm-local.json" "$WORK/$algorithm-service.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for k in ("final_value", "initial_value", "queries_used", "iterations", "env_steps", "normalized_value"):
    if a[k] != b[k]:
        sys.exit(f"FAIL service e2e: {a['algorithm']}: {k} in process {a[k]} != through the service {b[k]}")
print(f"{a['algorithm']}: in process and through the service equal: final value {a['final_value']}, {a['queries_used']} queries")
PY
}

run_pair zpg 4000
run_pair dpo 400

# A trainer killed -9 while it waits, resumed from its checkpoint.
"$RLHF" train --algorithm zpg --queries 8000 --evaluators $M --seed 8 --threads 2 --json --quiet > "$WORK/resume-local.json"
common=(--algorithm zpg --queries 8000 --evaluators $M --seed 8 --threads 2 --feedback service --server "$URL" --project "e2e-resume-$$" --simulated-annotators --poll 0.02 --feedback-timeout 60 --eval-every 5 --out "$WORK/resume-run")
"$RLHF" train "${common[@]}" --quiet > /dev/null 2>&1 &
TRAINER=$!
"$RLHF" annotate --server "$URL" --project "e2e-resume-$$" --tokens-file "$WORK/bots.tokens" --idle-exit 15 --max-answers 300 > /dev/null &
BOTS=$!
wait $BOTS || true
sleep 1
kill -9 $TRAINER 2>/dev/null || fail "the trainer finished before it could be killed (raise the budget)"
wait $TRAINER 2>/dev/null || true
[ -f "$WORK/resume-run/checkpoint.json" ] || fail "no checkpoint before the kill"
echo "trainer killed while waiting (checkpoint at iteration $(python3 -c "import json;print(json.load(open('$WORK/resume-run/checkpoint.json'))['state']['iteration'])"))"
"$RLHF" annotate --server "$URL" --project "e2e-resume-$$" --tokens-file "$WORK/bots.tokens" --idle-exit 15 > /dev/null &
BOTS=$!
"$RLHF" train "${common[@]}" --resume --json --quiet > "$WORK/resume-service.json"
wait $BOTS || fail "the bots failed"
python3 - "$WORK/resume-local.json" "$WORK/resume-service.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for k in ("final_value", "queries_used", "iterations"):
    if a[k] != b[k]:
        sys.exit(f"FAIL service e2e: resumed run: {k} in process {a[k]} != killed and resumed through the service {b[k]}")
print(f"zpg killed while waiting and resumed: equal to the run in process (final value {a['final_value']})")
PY
# Every pair of the resumed project has exactly M answers (none lost, none counted twice).
python3 - "$URL" "$RLHF_SERVICE_TOKEN" "e2e-resume-$$" $M "$WORK/resume-service.json" <<'PY'
import json, sys, urllib.request, collections
url, token, project, m, summary = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
req = urllib.request.Request(f"{url}/api/projects/{project}/export", headers={"Authorization": f"Bearer {token}"})
rows = [json.loads(l) for l in urllib.request.urlopen(req).read().decode().splitlines() if l.strip()]
per = collections.Counter(r["key"] for r in rows)
bad = {k: n for k, n in per.items() if n != m}
if bad: sys.exit(f"FAIL service e2e: pairs without exactly {m} answers: {list(bad.items())[:5]}")
slots = collections.Counter((r["key"], r["slot"]) for r in rows)
if any(n != 1 for n in slots.values()): sys.exit("FAIL service e2e: a slot answered twice")
used = json.load(open(summary))["queries_used"]
if len(rows) != used: sys.exit(f"FAIL service e2e: {len(rows)} answers stored, the ledger charged {used} queries")
print(f"export: {len(per)} pairs x {m} answers = {len(rows)} answers = the {used} queries charged")
PY
echo "PASS service e2e ($DB)"
