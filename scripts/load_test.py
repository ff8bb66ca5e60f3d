#!/usr/bin/env python3
"""Load test of the labeling service (`rlhf serve`), with an optional kill -9 in the middle.

    python3 scripts/load_test.py --binary BIN [--db PATH|postgres://...] [--bots 50]
        [--answers 20000] [--answers-per-pair 5] [--kill-at 0.5] [--json]

1. Starts `BIN serve` on a fresh SQLite file (or the given database) on a free port, adds an
   administrator with the CLI and N bot annotators through `POST /api/annotators`, creates a
   project (GridWorld environment, answers_per_pair M) and submits answers/M comparisons of tiny
   trajectories in batches of at most 1000.
2. Runs N bot threads, each with its own token and its own keep-alive http.client connection,
   looping GET /api/projects/{p}/next -> POST /api/tasks/{id}/answer (random choice, recorded)
   until `next` answers 204 several times in a row. The latency of every request that got a
   response is recorded, and so is every acknowledged answer (200 "recorded").
3. With --kill-at F: when F of the answers are acknowledged, the server is killed (SIGKILL) and
   restarted on the same database and port; the bots retry connection errors until it is back.
   An answer whose response was lost is sent again; "duplicate" replies are counted apart.
4. Reads the export route and checks: stored answers == slots; every acknowledged answer is there
   exactly once with its annotator and choice; no (comparison, slot) and no (comparison,
   annotator) twice; nothing stored that no bot sent. Prints the throughput over the load phase
   (setup excluded), p50/p99 latency of `next` and `answer`, the counts, and exits 1 on any
   discrepancy. --json prints one JSON object with the figures instead of the text report.

Python 3 standard library only. Names carry a random suffix, so a shared PostgreSQL database can
be used repeatedly.
"""
import argparse
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter

CHOICES = ["left", "right", "tie", "skip"]
CONNECTION_ERRORS = (OSError, http.client.HTTPException)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--binary", required=True)
    p.add_argument("--db", default=None, help="SQLite file or postgres:// URL (default: a new SQLite file)")
    p.add_argument("--bots", type=int, default=50)
    p.add_argument("--answers", type=int, default=20000, help="total answers = comparisons x M")
    p.add_argument("--answers-per-pair", type=int, default=5)
    p.add_argument("--kill-at", type=float, default=None, help="fraction of acknowledged answers at which to kill -9")
    p.add_argument("--timeout", type=float, default=1800, help="the whole load phase stops after this many seconds")
    p.add_argument("--binary-label", default=None,
                   help="what the binary is (e.g. 'debug build of i14-core 8f84ab6'), for the report")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    if a.answers % a.answers_per_pair:
        p.error("--answers must be a multiple of --answers-per-pair")
    if a.bots < a.answers_per_pair:
        p.error("--bots must be at least --answers-per-pair (an annotator answers a pair once)")
    if a.kill_at is not None and not 0 < a.kill_at < 1:
        p.error("--kill-at must be in (0, 1)")
    return a


def percentile(values, q):
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(q / 100.0 * (len(s) - 1)))))
    return s[k]


class Server:
    def __init__(self, binary, db, workdir):
        self.binary, self.db = binary, db
        self.log = open(os.path.join(workdir, "server.log"), "ab")
        self.proc, self.port = None, 0

    def start(self, deadline):
        """Starts `serve` (on port 0 the first time, then on the same port); waits for it to answer."""
        while True:
            self.log.write(b"--- starting\n"); self.log.flush()
            self.proc = subprocess.Popen(
                [self.binary, "serve", "--db", self.db, "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=subprocess.PIPE, stderr=self.log)
            port = None
            for raw in self.proc.stdout:
                self.log.write(raw); self.log.flush()
                m = re.search(rb"listening on http://127\.0\.0\.1:(\d+)/", raw)
                if m:
                    port = int(m.group(1)); break
            if port is not None:
                threading.Thread(target=self._drain, args=(self.proc,), daemon=True).start()
                self.port = port
                return
            self.proc.wait()
            if time.monotonic() > deadline:
                sys.exit(f"load_test: the server did not start (exit {self.proc.returncode}); see {self.log.name}")
            time.sleep(0.2)   # e.g. the port not yet free after a kill

    def _drain(self, proc):
        for raw in proc.stdout:
            self.log.write(raw)
        self.log.flush()

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill(); self.proc.wait()


class Client:
    """One keep-alive connection with one token; reconnects after an error."""

    def __init__(self, server, token, timeout=30):
        self.server, self.token, self.timeout = server, token, timeout
        self.conn = None

    def request(self, method, path, body=None):
        """Returns (status, body bytes, seconds); raises a connection error (the connection is dropped)."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=self.timeout)
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": "Bearer " + self.token}
        if data is not None:
            headers["Content-Type"] = "application/json"
        t0 = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=headers)
            r = self.conn.getresponse()
            payload = r.read()
        except CONNECTION_ERRORS:
            self.close()
            raise
        dt = time.perf_counter() - t0
        if r.will_close:
            self.close()
        return r.status, payload, dt

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001
                pass
            self.conn = None


def main():
    a = parse_args()
    binary = os.path.abspath(a.binary)
    if not os.access(binary, os.X_OK):
        sys.exit(f"load_test: {binary} is not an executable")
    workdir = tempfile.mkdtemp(prefix="rlhf-load-test-")
    db = a.db or os.path.join(workdir, "labels.db")
    backend = "postgresql" if db.startswith(("postgres://", "postgresql://")) else "sqlite"
    shown_db = db.split("@")[-1] if backend == "postgresql" else db
    tag = "%08x" % random.getrandbits(32)
    M, N = a.answers_per_pair, a.bots
    n_comparisons = a.answers // M
    total = n_comparisons * M

    def log(*x):
        if not a.json:
            print("load_test:", *x, flush=True)

    # --- setup (not timed) ---
    out = subprocess.run([binary, "serve", "annotators", "add", f"load-admin-{tag}", "--admin", "--db", db],
                         check=True, capture_output=True, text=True).stdout
    admin_token = out.strip().splitlines()[-1].strip()
    server = Server(binary, db, workdir)
    server.start(time.monotonic() + 60)
    log(f"server on 127.0.0.1:{server.port}, {backend} {shown_db}, binary {binary}, log {server.log.name}")
    admin = Client(server, admin_token, timeout=300)

    def admin_call(method, path, body=None, ok=(200, 201)):
        status, payload, _ = admin.request(method, path, body)
        if status not in ok:
            sys.exit(f"load_test: {method} {path} gave {status} {payload[:300]!r}")
        return payload

    tokens = {}
    for b in range(N):
        name = f"bot{b:03d}-{tag}"
        tokens[name] = json.loads(admin_call("POST", "/api/annotators", {"name": name, "admin": False}))["token"]
    project = f"load-{tag}"
    environment = {"kind": "gridworld", "name": "classic",
                   "map": ["#######", "#S..#G#", "#.#...#", "#######"],
                   "positions": [[1, 1], [1, 2], [1, 3], [2, 1], [2, 3], [2, 4], [2, 5], [1, 5]],
                   "actions": ["up", "down", "right", "left"], "horizon": 30}
    admin_call("POST", "/api/projects", {"name": project, "environment": environment,
                                         "answers_per_pair": M, "simulated": False})
    rng = random.Random(tag)
    ids = []
    t_setup = time.perf_counter()
    for start in range(0, n_comparisons, 1000):
        items = []
        for i in range(start, min(n_comparisons, start + 1000)):
            r0, r1 = rng.choice([-1.0, 0.0, 1.0]), rng.choice([-1.0, 0.0, 1.0])
            items.append({"key": f"pair-{i}",
                          "first": {"states": [0, 1, 2], "actions": [2, 2], "rewards": [0.0, r0]},
                          "second": {"states": [0, 3, 4], "actions": [1, 2], "rewards": [0.0, r1]},
                          "first_return": r0, "second_return": r1,
                          "first_myopic_return": r0, "second_myopic_return": r1})
        ids += json.loads(admin_call("POST", f"/api/projects/{project}/comparisons", {"comparisons": items}))["ids"]
    key_of = {cid: f"pair-{i}" for i, cid in enumerate(ids)}
    log(f"setup: {N} bots, {n_comparisons} comparisons x M = {M} = {total} slots "
        f"(submitted in {time.perf_counter() - t_setup:.1f} s)")

    # --- load phase ---
    lock = threading.Lock()
    acknowledged = []       # (comparison_id, slot, bot, choice) answered 200 "recorded"
    duplicates = []         # the same, answered 200 "duplicate" (a re-send after a lost response)
    lat_next, lat_answer = [], []
    counts = Counter()      # sent, connection_errors, statuses ...
    failures = []
    ack_count = [0]
    end_by = time.monotonic() + a.timeout
    stop_all = threading.Event()

    def bot(name, token, seed):
        rnd = random.Random(seed)
        c = Client(server, token)
        my_next, my_answer, empty = [], [], 0
        try:
            while not stop_all.is_set():
                if time.monotonic() > end_by:
                    failures.append(f"{name}: out of time"); return
                try:
                    status, payload, dt = c.request("GET", f"/api/projects/{project}/next")
                except CONNECTION_ERRORS:
                    with lock: counts["connection_errors_next"] += 1
                    time.sleep(0.05); continue
                my_next.append(dt)
                if status == 204:
                    empty += 1
                    if empty >= 5:
                        return
                    time.sleep(0.2); continue
                if status != 200:
                    with lock: counts[f"next_{status}"] += 1
                    failures.append(f"{name}: next gave {status} {payload[:200]!r}")
                    time.sleep(0.2); continue
                empty = 0
                task = json.loads(payload)
                cid, slot = task["id"], task["slot"]
                choice = rnd.choice(CHOICES)
                attempt = 0
                while not stop_all.is_set():
                    if time.monotonic() > end_by:
                        failures.append(f"{name}: out of time"); return
                    with lock: counts["sent"] += 1
                    if attempt:
                        with lock: counts["resent"] += 1
                    attempt += 1
                    try:
                        status, payload, dt = c.request("POST", f"/api/tasks/{cid}/answer",
                                                        {"slot": slot, "choice": choice})
                    except CONNECTION_ERRORS:
                        with lock: counts["connection_errors_answer"] += 1
                        time.sleep(0.05); continue   # unknown whether it was stored: send it again
                    my_answer.append(dt)
                    st = json.loads(payload).get("status") if status == 200 else None
                    with lock:
                        if st == "recorded":
                            acknowledged.append((cid, slot, name, choice)); ack_count[0] += 1
                        elif st == "duplicate":
                            duplicates.append((cid, slot, name, choice))
                        else:
                            counts[f"answer_{status}"] += 1
                            failures.append(f"{name}: answer to {cid}/{slot} gave {status} {payload[:200]!r}")
                    break
        except Exception as e:  # noqa: BLE001 (report, then fail)
            failures.append(f"{name}: {e!r}")
        finally:
            c.close()
            with lock:
                lat_next.extend(my_next); lat_answer.extend(my_answer)

    threads = [threading.Thread(target=bot, args=(name, tok, f"{tag}/{name}"), daemon=True)
               for name, tok in tokens.items()]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    kill = None
    if a.kill_at is not None:
        target = a.kill_at * total
        while ack_count[0] < target and any(t.is_alive() for t in threads) and time.monotonic() < end_by:
            time.sleep(0.002)
        at = ack_count[0]
        tk = time.perf_counter()
        server.kill9()
        log(f"kill -9 at {at} acknowledged answers ({(tk - t0):.1f} s into the load); restarting")
        server.start(time.monotonic() + 120)
        kill = {"killed_at_acknowledged": at, "restart_seconds": round(time.perf_counter() - tk, 3),
                "port": server.port}
        log(f"restarted in {kill['restart_seconds']} s on the same port")
    for t in threads:
        t.join(max(0.0, end_by - time.monotonic()))
    stop_all.set()
    load_seconds = time.perf_counter() - t0

    # --- checks ---
    admin.close()
    status, payload, _ = admin.request("GET", f"/api/projects/{project}/export")
    if status != 200:
        failures.append(f"export gave {status} {payload[:200]!r}"); payload = b""
    rows = [json.loads(line) for line in payload.decode().splitlines() if line.strip()]
    admin.close()
    server.stop()

    exported = Counter((r["comparison_id"], r["slot"], r["annotator"], r["choice"]) for r in rows)
    by_slot = Counter((r["comparison_id"], r["slot"]) for r in rows)
    by_pair = Counter((r["comparison_id"], r["annotator"]) for r in rows)
    ack = Counter(acknowledged)
    dup = Counter(duplicates)
    lost = sum(1 for x in ack if exported[x] == 0)
    twice = sum(1 for x in ack if exported[x] > 1) + sum(1 for x, n in ack.items() if n > 1)
    slot_rows = {}
    for r in rows:
        slot_rows.setdefault((r["comparison_id"], r["slot"]), r)
    misattributed = 0
    for (cid, slot, name, choice) in ack:
        r = slot_rows.get((cid, slot))
        if r is not None and (r["annotator"], r["choice"]) != (name, choice):
            misattributed += 1
    dup_missing = sum(1 for x in dup if exported[x] == 0)          # "duplicate" but not stored
    unacknowledged = sum(1 for x in exported if x not in ack and x not in dup)
    wrong_key = sum(1 for r in rows if key_of.get(r["comparison_id"]) != r["key"])
    slot_twice = sum(1 for n in by_slot.values() if n > 1)
    pair_twice = sum(1 for n in by_pair.values() if n > 1)
    ack_and_dup = sum(1 for x in dup if x in ack)   # one bot's answer acknowledged both ways
    problems = {
        "stored != slots": len(rows) != total, "lost": lost, "misattributed": misattributed,
        "acknowledged twice or stored twice": twice, "slot twice": slot_twice,
        "annotator twice on a comparison": pair_twice, "duplicate not stored": dup_missing,
        "stored but never acknowledged": unacknowledged, "wrong key": wrong_key,
        "bot failures": len(failures),
    }
    ok = not any(problems.values())
    ms = lambda v: None if v is None else round(v * 1000, 2)  # noqa: E731
    figures = {
        "ok": ok, "backend": backend, "binary": binary,
        "build": a.binary_label or ("debug" if "/debug/" in binary else ("release" if "/release/" in binary else "unknown")),
        "db": shown_db, "bots": N, "answers_per_pair": M, "comparisons": n_comparisons, "slots": total,
        "load_seconds": round(load_seconds, 3),
        "answers_per_second": round(len(acknowledged) / load_seconds, 1) if load_seconds else None,
        "next_requests": len(lat_next), "answer_requests": len(lat_answer),
        "next_p50_ms": ms(percentile(lat_next, 50)), "next_p99_ms": ms(percentile(lat_next, 99)),
        "answer_p50_ms": ms(percentile(lat_answer, 50)), "answer_p99_ms": ms(percentile(lat_answer, 99)),
        "sent": counts["sent"], "resent": counts["resent"], "acknowledged": len(acknowledged),
        "duplicates": len(duplicates), "stored": len(rows), "lost": lost, "misattributed": misattributed,
        "acknowledged_and_duplicate": ack_and_dup,
        "connection_errors": counts["connection_errors_next"] + counts["connection_errors_answer"],
        "other_statuses": {k: v for k, v in counts.items() if k.startswith(("next_", "answer_"))},
        "problems": {k: v for k, v in problems.items() if v},
        "kill": kill, "failures": failures[:20], "server_log": server.log.name,
    }
    if a.json:
        print(json.dumps(figures))
    else:
        log(f"{backend} ({figures['build']} binary {binary})")
        log(f"load: {figures['acknowledged']} answers in {load_seconds:.1f} s = {figures['answers_per_second']} answers/s")
        log(f"next   p50 {figures['next_p50_ms']} ms  p99 {figures['next_p99_ms']} ms  ({len(lat_next)} requests)")
        log(f"answer p50 {figures['answer_p50_ms']} ms  p99 {figures['answer_p99_ms']} ms  ({len(lat_answer)} requests)")
        log(f"sent {figures['sent']} (re-sent {figures['resent']}), acknowledged {figures['acknowledged']}, "
            f"duplicates {figures['duplicates']}, stored {len(rows)} of {total} slots, lost {lost}, "
            f"misattributed {misattributed}, connection errors {figures['connection_errors']}")
        if kill:
            log(f"kill: {kill}")
        for f in failures[:20]:
            log("FAIL", f)
        log("OK" if ok else f"DISCREPANCY: {figures['problems']}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
