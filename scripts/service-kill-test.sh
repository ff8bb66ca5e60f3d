#!/usr/bin/env bash
# Durability of the labeling service under kill -9, at the process level.
#
#   scripts/service-kill-test.sh BINARY [--db PATH|postgres://…] [--bots N] [--comparisons N]
#
# Starts `BINARY serve --db …` (a new temporary SQLite file unless --db is given), adds an
# administrator with `BINARY serve annotators add`, creates a project (M = 3) and comparisons
# over the API, and runs N concurrent bot clients (Python threads, urllib) that fetch tasks and
# answer them, recording every answer the server acknowledged (200); a bot stops after 2 s of
# 204s. In the middle it kills the server with SIGKILL — twice, at a third and two thirds of the
# answers — and restarts it on the same database; the bots retry through the outage. At the
# end it reads the export route and checks that every acknowledged answer is present exactly
# once, with the right annotator, slot and choice, that no answer is there that was never
# acknowledged, and that every slot of every comparison is answered. Exit status 0 when all holds, 1 otherwise.
#
# Names carry a random suffix, so a PostgreSQL database can be used repeatedly; a fresh schema
# (`?schema=…`, created by the store) keeps it apart from tables of an older schema:
#   scripts/service-kill-test.sh .build/release/rlhf --db "$(scripts/postgres-local.sh start)?schema=kill_$(date +%s)"
set -euo pipefail

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
    exit 64
fi
BINARY="$1"; shift
[ -x "$BINARY" ] || { echo "service-kill-test: $BINARY is not an executable (build it: swift build -c release --product rlhf)" >&2; exit 64; }

exec python3 - "$BINARY" "$@" <<'PYTHON'
import hashlib, json, os, random, signal, socket, subprocess, sys, tempfile, threading, time
import urllib.error, urllib.request

args = sys.argv[1:]
binary = os.path.abspath(args.pop(0))
db, bots, comparisons, M = None, 4, 60, 3
while args:
    flag = args.pop(0)
    if flag == "--db": db = args.pop(0)
    elif flag == "--bots": bots = int(args.pop(0))
    elif flag == "--comparisons": comparisons = int(args.pop(0))
    else: sys.exit(f"service-kill-test: unknown option {flag}")
workdir = tempfile.mkdtemp(prefix="rlhf-kill-test-")
if db is None: db = os.path.join(workdir, "labels.db")
shown_db = db.split("@")[-1] if db.startswith("postgres") else db
tag = "%08x" % random.getrandbits(32)
deadline = time.monotonic() + 300   # the whole test stops by itself

def log(*a): print("service-kill-test:", *a, flush=True)

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

port = free_port()
base = f"http://127.0.0.1:{port}"
server = None
server_log = open(os.path.join(workdir, "server.log"), "ab")

def start_server():
    global server
    server = subprocess.Popen([binary, "serve", "--db", db, "--host", "127.0.0.1", "--port", str(port), "--lease", "30"],
                              stdout=server_log, stderr=server_log)
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"service-kill-test: the server exited with {server.returncode}; see {server_log.name}")
        try:
            with urllib.request.urlopen(base + "/", timeout=1) as r:
                if r.status == 200: return
        except OSError:
            time.sleep(0.05)
    sys.exit("service-kill-test: the server did not start")

def request(method, path, token, body=None, timeout=5):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()

# An administrator, through the CLI (the token is printed once, on the last line).
out = subprocess.run([binary, "serve", "annotators", "add", f"admin-{tag}", "--admin", "--db", db],
                     check=True, capture_output=True, text=True).stdout
admin = out.strip().splitlines()[-1]
start_server()
log(f"server on {base}, database {shown_db}, pid {server.pid}")

project = f"kill-test-{tag}"
status, body = request("POST", "/api/projects", admin, {
    "name": project, "answers_per_pair": M, "simulated": False,
    "environment": {"kind": "generic", "name": "bandit", "actions": ["0", "1"], "horizon": 1}})
assert status == 201, (status, body)
items = [{"key": f"pair-{i}", "first": {"states": [0], "actions": [i % 2], "rewards": [1.0]},
          "second": {"states": [0], "actions": [1 - i % 2], "rewards": [0.0]},
          "first_return": 1.0, "second_return": 0.0, "first_myopic_return": 1.0, "second_myopic_return": 0.0}
         for i in range(comparisons)]
status, body = request("POST", f"/api/projects/{project}/comparisons", admin, {"comparisons": items})
assert status == 200, (status, body)
ids = json.loads(body)["ids"]
key_of = dict(zip(ids, (c["key"] for c in items)))

tokens = {}
for b in range(bots):
    name = f"bot{b}-{tag}"
    status, body = request("POST", "/api/annotators", admin, {"name": name, "admin": False})
    assert status == 201, (status, body)
    tokens[name] = json.loads(body)["token"]

acknowledged = []          # (comparison_id, slot, annotator, choice)
lock = threading.Lock()
outage = {"retries": 0, "duplicates": 0, "late": 0}   # requests that met a dead server; answers stored before a kill
failures = []
total = comparisons * M

def choice_for(name, comparison_id):
    return ["left", "right", "tie", "skip"][hashlib.sha256(f"{name}/{comparison_id}".encode()).digest()[0] % 4]

def bot(name, token):
    # A 204 means "nothing for you right now": another bot may still give a lease back (or, on
    # PostgreSQL, hold the last open comparison locked for an instant), so a bot stops only
    # after 2 s of 204s.
    empty_since = None
    try:
        while time.monotonic() < deadline:
            try:
                status, body = request("GET", f"/api/projects/{project}/next", token)
            except OSError:
                with lock: outage["retries"] += 1
                time.sleep(0.1); continue          # the server is down: try again
            if status == 204:
                if empty_since is None: empty_since = time.monotonic()
                if time.monotonic() - empty_since > 2: return
                time.sleep(0.2); continue
            if empty_since is not None:
                with lock: outage["late"] += 1
                empty_since = None
            if status != 200:
                failures.append(f"{name}: next gave {status} {body[:200]!r}"); return
            task = json.loads(body)
            answer = {"slot": task["slot"], "choice": choice_for(name, task["id"])}
            while time.monotonic() < deadline:
                try:
                    status, body = request("POST", f"/api/tasks/{task['id']}/answer", token, answer)
                except OSError:
                    with lock: outage["retries"] += 1
                    time.sleep(0.1); continue      # unknown whether it was stored: send it again
                if status == 200:
                    with lock:
                        acknowledged.append((task["id"], task["slot"], name, answer["choice"]))
                        if json.loads(body).get("status") == "duplicate": outage["duplicates"] += 1
                else:
                    failures.append(f"{name}: answer gave {status} {body[:200]!r}")
                break
        failures.append(f"{name}: out of time")
    except Exception as e:   # noqa: BLE001 (report, then fail the test)
        failures.append(f"{name}: {e!r}")

threads = [threading.Thread(target=bot, args=item, daemon=True) for item in tokens.items()]
for t in threads: t.start()
kills = 0
for fraction in (1 / 3, 2 / 3):
    while len(acknowledged) < fraction * total and time.monotonic() < deadline and any(t.is_alive() for t in threads):
        time.sleep(0.005)
    os.kill(server.pid, signal.SIGKILL)
    server.wait()
    kills += 1
    log(f"killed the server (SIGKILL) at {len(acknowledged)} acknowledged answers; restarting")
    time.sleep(0.3)
    start_server()
for t in threads: t.join(max(0.0, deadline - time.monotonic()))

status, body = request("GET", f"/api/projects/{project}/export", admin, timeout=30)
assert status == 200, (status, body)
rows = [json.loads(line) for line in body.decode().splitlines() if line]
os.kill(server.pid, signal.SIGTERM)
try: server.wait(timeout=10)
except subprocess.TimeoutExpired: server.kill(); failures.append("the server did not stop on SIGTERM")

exported = [(r["comparison_id"], r["slot"], r["annotator"], r["choice"]) for r in rows]
from collections import Counter
counts = Counter(exported)
ack = Counter(acknowledged)
for a in ack:
    if counts[a] != 1: failures.append(f"acknowledged answer {a} is in the export {counts[a]} times")
for e in counts:
    if e not in ack: failures.append(f"exported answer {e} was never acknowledged")
slots = Counter((r[0], r[1]) for r in exported)
pairs = Counter((r[0], r[2]) for r in exported)
failures += [f"slot {s} answered {n} times" for s, n in slots.items() if n > 1]
failures += [f"{p[1]} answered comparison {p[0]} {n} times" for p, n in pairs.items() if n > 1]
for r in rows:
    if key_of.get(r["comparison_id"]) != r["key"]: failures.append(f"row with a wrong key: {r['key']}")
if len(rows) != total: failures.append(f"{len(rows)} answers exported, expected every slot: {total}")
duplicates = len(acknowledged) - len(ack)
log(f"{len(acknowledged)} answers acknowledged ({duplicates} acknowledged twice), {len(rows)} exported, "
    f"{kills} kills, {bots} bots, {comparisons} comparisons × M = {M}, database {shown_db}; "
    f"{outage['retries']} requests met a dead server, {outage['duplicates']} retried answers were already stored, "
    f"{outage['late']} tasks came after a 204")
if failures:
    for f in failures[:50]: log("FAIL", f)
    log(f"server log: {server_log.name}")
    sys.exit(1)
log("OK: every acknowledged answer is stored exactly once and attributed to its annotator")
PYTHON
