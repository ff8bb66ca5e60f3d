#!/usr/bin/env python3
"""Compare `rlhf bench` of two builds in one run, on the same machine.

    python3 scripts/bench_compare.py --before OLD/rlhf --after .build/release/rlhf [--rounds 3]

Runs `rlhf bench --json` of the two binaries alternately (before, after, before, after, …) so
that both see the same machine state, keeps the best figure of each over the rounds (the
highest rate, the lowest time), and prints a Markdown table: figure, before, after, after/before
(a speed-up above 1 for rates and for times alike). Figures only one binary reports are listed
with the other column empty. `--json FILE` also writes every round's raw output.
"""
import argparse
import json
import subprocess
import sys

# Figures where lower is better (times); everything else numeric is a rate or a value.
LOWER_IS_BETTER = ("Seconds", "Micros")
SKIP = ("NormalizedValue", "Cores", "BatchWidth")


def run(binary, extra):
    out = subprocess.run([binary, "bench", "--json"] + extra, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def lower_is_better(key):
    return any(s.lower() in key.lower() for s in LOWER_IS_BETTER)


def best(rounds):
    merged = {}
    for r in rounds:
        for k, v in r.items():
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                merged.setdefault(k, v)
                continue
            if k not in merged:
                merged[k] = v
            else:
                merged[k] = min(merged[k], v) if lower_is_better(k) else max(merged[k], v)
    return merged


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", required=True)
    p.add_argument("--after", required=True)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", help="write the raw rounds here")
    p.add_argument("bench_args", nargs="*", help="extra arguments for `rlhf bench` (after --)")
    a = p.parse_args()
    before, after = [], []
    for i in range(a.rounds):
        print(f"round {i + 1}/{a.rounds}", file=sys.stderr)
        before.append(run(a.before, a.bench_args))
        after.append(run(a.after, a.bench_args))
    b, n = best(before), best(after)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"before": before, "after": after}, f, indent=1)
    print("| figure | before | after | after/before |")
    print("|---|---:|---:|---:|")
    for k in list(b) + [k for k in n if k not in b]:
        vb, vn = b.get(k), n.get(k)
        if any(k.endswith(s) for s in SKIP):
            print(f"| {k} | {vb if vb is not None else ''} | {vn if vn is not None else ''} | |")
            continue
        if isinstance(vb, (int, float)) and isinstance(vn, (int, float)) and not isinstance(vb, bool) and vb and vn:
            ratio = vb / vn if lower_is_better(k) else vn / vb
            fmt = lambda v: f"{v:.4g}"
            print(f"| {k} | {fmt(vb)} | {fmt(vn)} | {ratio:.2f}× |")
        else:
            print(f"| {k} | {'' if vb is None else vb} | {'' if vn is None else vn} | |")


if __name__ == "__main__":
    main()
