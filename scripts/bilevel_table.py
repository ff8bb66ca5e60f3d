#!/usr/bin/env python3
"""Issue 5's table: bilevel vs offline/online RM+PPO on `classic`, Bradley-Terry, M = 10.

Runs `rlhf train --algorithm A --queries N --seed S --json` (release build, one run at a time)
for every (algorithm, reward, budget, seed) cell, appends each result to a CSV (so an
interrupted run resumes where it stopped), then prints a Markdown table of median [min–max]
normalized value and the median wall time per run.

Usage (from the package root):
  swift build -c release
  python3 scripts/bilevel_table.py [--csv runs/bilevel_table.csv] [--seeds 5] \
      [--seeds-1e6 5] [--seeds-rmppo-mlp-1e6 1] [--budgets 10000,100000,1000000]

Rows: bilevel (its defaults, σ = 10), bilevel-sigma1 (σ = 1, the former default), rm-ppo-offline, rm-ppo.
Rewards: "tabular" = `--reward-hidden ""` (linear on one-hot features), "mlp" = `--reward-hidden 64,64`
(RM+PPO's default reward network; the bilevel method's own default is tabular, so it is passed
explicitly for both). Seeds are 1…n.
"""
import argparse, csv, json, os, statistics, subprocess, sys, time

ALGORITHMS = ["bilevel", "bilevel-sigma1", "rm-ppo-offline", "rm-ppo"]
# Table rows that are an algorithm with extra options: "bilevel-sigma1" is the bilevel method with
# its former default σ = 1 (the default is now σ = 10).
# rm-ppo: the fixed rounds (250 pairs, 5 PPO updates a round) the README's table was measured
# with; since issue 17 the default is a schedule with its own agent budget (--agent-steps).
VARIANTS = {"bilevel-sigma1": ["--algorithm", "bilevel", "--sigma", "1"],
            "rm-ppo": ["--algorithm", "rm-ppo", "--pairs-per-round", "250", "--ppo-updates", "5"]}
REWARDS = {"tabular": "", "mlp": "64,64"}
FIELDS = ["algorithm", "reward", "budget", "seed", "normalized", "wall_seconds", "lower_level_normalized", "reward_agreement"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=".build/release/rlhf")
    ap.add_argument("--csv", default="runs/bilevel_table.csv")
    ap.add_argument("--budgets", default="10000,100000,1000000")
    ap.add_argument("--seeds", type=int, default=5, help="seeds per cell below 10^6 queries")
    ap.add_argument("--seeds-1e6", type=int, default=5, help="seeds per cell at 10^6 queries")
    ap.add_argument("--seeds-rmppo-mlp-1e6", type=int, default=1, help="seeds for rm-ppo with an MLP reward at 10^6 (≈6 min a run)")
    ap.add_argument("--algorithms", default=",".join(ALGORITHMS))
    ap.add_argument("--rewards", default=",".join(REWARDS))
    ap.add_argument("--table-only", action="store_true")
    args = ap.parse_args()

    budgets = [int(b) for b in args.budgets.split(",")]
    os.makedirs(os.path.dirname(args.csv) or ".", exist_ok=True)
    done = {}
    if os.path.exists(args.csv):
        with open(args.csv) as f:
            for row in csv.DictReader(f):
                done[(row["algorithm"], row["reward"], int(row["budget"]), int(row["seed"]))] = row
    new = not os.path.exists(args.csv)
    out = open(args.csv, "a", newline="")
    writer = csv.DictWriter(out, fieldnames=FIELDS)
    if new:
        writer.writeheader()

    def seeds_for(alg, reward, budget):
        if budget >= 1_000_000:
            if alg == "rm-ppo" and reward == "mlp":
                return args.seeds_rmppo_mlp_1e6
            return args.seeds_1e6
        return args.seeds

    cells = [(a, r, b) for b in budgets for r in args.rewards.split(",") for a in args.algorithms.split(",")]
    if not args.table_only:
        for alg, reward, budget in cells:
            for seed in range(1, seeds_for(alg, reward, budget) + 1):
                key = (alg, reward, budget, seed)
                if key in done:
                    continue
                cmd = [args.binary, "train"] + VARIANTS.get(alg, ["--algorithm", alg]) + [
                       "--queries", str(budget), "--seed", str(seed), "--reward-hidden", REWARDS[reward], "--json"]
                start = time.time()
                res = subprocess.run(cmd, capture_output=True, text=True)
                if res.returncode != 0:
                    print("FAILED:", " ".join(cmd), res.stderr[-2000:], file=sys.stderr)
                    continue
                d = json.loads(res.stdout)
                fig = d.get("figures") or {}
                # The CSV's `normalized` is always π_λ's value and `lower_level_normalized` π_λ''s:
                # a bilevel run reports π_λ' as its policy (π_λ in the figures) since the default
                # became --bilevel-deploy lower-level; older runs reported π_λ.
                if "penalty_policy_normalized" in fig:
                    penalty, lower = fig["penalty_policy_normalized"], d["normalized_value"]
                else:
                    penalty, lower = d["normalized_value"], fig.get("lower_level_normalized", "")
                row = {"algorithm": alg, "reward": reward, "budget": budget, "seed": seed,
                       "normalized": penalty, "wall_seconds": d.get("wall_seconds", time.time() - start),
                       "lower_level_normalized": lower,
                       "reward_agreement": fig.get("reward_agreement", "")}
                writer.writerow(row)
                out.flush()
                done[key] = row
                print(f"{alg:15s} {reward:8s} {budget:8d} seed {seed}: {d['normalized_value']:.3f}  {row['wall_seconds']:.1f}s", flush=True)

    # The table: one row per (algorithm, reward), one column per budget.
    print()
    print("| algorithm | reward | " + " | ".join(f"{b:.0e} queries" for b in budgets) + " |")
    print("|---|---|" + "---|" * len(budgets))
    def cell(values, extra=""):
        v = sorted(values)
        return f"{statistics.median(v):.3f} [{v[0]:.3f}–{v[-1]:.3f}]" + extra

    for reward in args.rewards.split(","):
        for alg in args.algorithms.split(","):
            # Bilevel rows twice: π_λ' (the run's policy by default) and π_λ (the policy that queries).
            fields = [("lower_level_normalized", " λ′"), ("normalized", " λ")] if alg.startswith("bilevel") else [("normalized", "")]
            for field, tag in fields:
                cols = []
                for b in budgets:
                    rows = [r for k, r in done.items() if k[:3] == (alg, reward, b) and r[field] != ""]
                    if not rows:
                        cols.append("–")
                        continue
                    w = statistics.median(float(r["wall_seconds"]) for r in rows)
                    cols.append(cell([float(r[field]) for r in rows], f" (n={len(rows)}, {w:.1f} s/run)"))
                print(f"| {alg}{tag} | {reward} | " + " | ".join(cols) + " |")


if __name__ == "__main__":
    main()
