#!/usr/bin/env python3
"""Exploratory runs that used to live in the test targets as tests that asserted nothing.

They drive the release binary (`rlhf study …` and `rlhf train … --json`) and print what the
old tests printed; none of them checks anything. Build first, from the package root:

  swift build -c release
  python3 scripts/experiments.py measurements [--quick] [--kinds critic,hypergradient,gradient]
  python3 scripts/experiments.py bilevel [--quick] [--budgets 10000,100000] [--seeds 3]
                                         [--set "sigma=1;sigma=10"] [--exact]
  python3 scripts/experiments.py report-examples [--quick] [--out out/report-examples]

Subcommands (and the test each one replaces):

measurements     (was MeasurementTests.full, MEASUREMENT_FULL=critic|hyper|gradient|1)
    The critic, hypergradient and gradient measurements at full size with their default seeds
    1…5 (`kind: K, seeds: [1, 2, 3, 4, 5]` study files run by `rlhf study`), printed as one line
    per (variant, metric, x): the median over seeds and the per-seed values. `--quick` runs
    their quick versions on seeds 1 and 2 (what the measurement tests run), in seconds.
    `--kinds` also accepts fixed-point.

bilevel          (was BilevelExperiments.classicRuns, BILEVEL_EXPERIMENT=1 swift test -c release …)
    Algorithm 1 on `classic` (tabular policy and reward on one-hot features, Bradley-Terry,
    M = 10): for every setting, budget and seed, one `rlhf train --algorithm bilevel --json`
    run; prints λ (the penalty policy, π_λ), λ' (the lower-level policy, the run's policy by
    default), the reward agreement, the wall time and a trace of λ's normalized value at about
    eight evaluation points, then a SUMMARY line per (setting, budget) with the median, min and
    max of λ and of λ'. `--set` takes the old BILEVEL_SET syntax: `k=v,…` overrides with the old
    short keys (B, eta, rsteps, replay, sigma, p, T, beta, betaL, alpha, N, NR, clip, cJ, cn, cE,
    clr, cg, adam, W, Wsteps; clip=0 is no clipping), several settings separated by `;`. Seeds are `--seed 1…n` of the
    command line (the old test seeded the policy with 100 + s and the algorithm with s + 1, so
    individual numbers differ; the distribution over seeds is what it reported).
    Not carried over (they need the library's internals, not the command line):
    BILEVEL_TRUE_REWARD (φ starting at the true expected reward), BILEVEL_VERBOSE (per-iteration
    statistics), BILEVEL_DUMP (the learned reward table beside the true one, and λ*(φ) solved
    exactly), and the agreement of the uniform policy's pairs.

report-examples  (was StudyReportTests.writeExamples, REPORT_EXAMPLE_DIR=…)
    An example training report and plot, and an example measurement report and plot, to look
    at: a small study comparing the zeroth-order methods (zpg, zbcpg) with the baselines
    (rm-ppo, dpo) on `classic` under Bradley-Terry and Weibull (`compare` answer), and the
    hypergradient measurement (relative error against σ, a trend). The old test wrote the same
    kinds of files from synthetic rows; these are real runs. Output: OUT/training/{report.md,
    results.csv, normalized_vs_queries.svg} and OUT/measurement/{report.md, results.csv,
    measurements.svg}. `--quick`: budgets 2000 and 5000, 2 seeds (about a minute), and the
    quick measurement. A study folder holds one study: run again, it resumes.
"""
import argparse, csv, json, os, statistics, subprocess, sys, tempfile, time

# The old BILEVEL_SET keys and the `--set bilevel.…` settings they stand for.
BILEVEL_KEYS = {
    "B": "pairs-per-iteration", "eta": "reward-step-size", "rsteps": "reward-steps-per-iteration",
    "replay": "replay-pairs", "sigma": "sigma", "p": "sigma-decay", "T": "inner-steps",
    "beta": "policy-step-size", "betaL": "lower-step-size", "alpha": "entropy",
    "N": "actor-episodes", "NR": "reward-episodes", "clip": "gradient-clip",
    "cJ": "critic.refreshes", "cn": "critic.steps-per-refresh", "cE": "critic.episodes",
    "clr": "critic.learning-rate", "cg": "critic.discount", "adam": "reward-optimizer",
    "W": "warmup-pairs", "Wsteps": "warmup-reward-steps",
}
INTEGER_KEYS = {"B", "rsteps", "replay", "T", "N", "NR", "cJ", "cn", "cE", "W", "Wsteps"}
MEASUREMENT_SEEDS = {"critic": [1, 2, 3, 4, 5], "hypergradient": [1, 2, 3, 4, 5], "gradient": [1, 2, 3, 4, 5],
                     "fixed-point": [1, 2, 3]}


def run(cmd, capture=True):
    res = subprocess.run(cmd, capture_output=capture, text=True)
    if res.returncode != 0:
        sys.exit(f"FAILED ({res.returncode}): {' '.join(cmd)}\n{(res.stderr or '')[-3000:]}")
    return res.stdout if capture else ""


def check_binary(path):
    if not os.access(path, os.X_OK):
        sys.exit(f"{path} not found: run `swift build -c release` first (or pass --binary)")


def study(binary, yaml_text, out, quiet=True):
    """Writes `yaml_text` to OUT/study-input.yaml and runs `rlhf study` on it into OUT."""
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "study-input.yaml")
    with open(path, "w") as f:
        f.write(yaml_text)
    start = time.time()
    run([binary, "study", path, "--out", out] + (["--quiet"] if quiet else []), capture=quiet)
    return time.time() - start


# MARK: - measurements

def print_table(title, rows, seconds):
    """One line per (variant, metric, x) in the CSV's order: median over seeds and the values."""
    keys, values = [], {}
    for r in rows:
        key = f"{r['variant']}\t{r['metric']}\t{r['x_name']}={float(r['x']):g}"
        if key not in values:
            keys.append(key)
            values[key] = []
        values[key].append(float(r["y"]))
    print(f"{title}: {len(rows)} rows in {seconds:.2f} s")
    for k in keys:
        v = values[k]
        median = sorted(v)[len(v) // 2]
        print(f"  {k}\tmedian {median:.5g}\t[" + ", ".join(f"{y:.4g}" for y in v) + "]")


def measurements(args):
    check_binary(args.binary)
    for kind in args.kinds.split(","):
        if kind not in MEASUREMENT_SEEDS:
            sys.exit(f"unknown measurement '{kind}'; known: {', '.join(MEASUREMENT_SEEDS)}")
        seeds = [1, 2] if args.quick else MEASUREMENT_SEEDS[kind]
        out = os.path.join(args.out, kind + ("-quick" if args.quick else ""))
        yaml_text = (f"name: {kind}-{'quick' if args.quick else 'full'}\nkind: {kind}\n"
                     f"seeds: [{', '.join(map(str, seeds))}]\nquick: {'true' if args.quick else 'false'}\n")
        seconds = study(args.binary, yaml_text, out)
        with open(os.path.join(out, "results.csv")) as f:
            rows = list(csv.DictReader(f))
        print_table(f"{kind} {'quick' if args.quick else 'full'} (seeds {seeds}; {out})", rows, seconds)


# MARK: - bilevel

def bilevel_settings(spec):
    """`k=v,…` in the old short keys → `--set bilevel.…=…` arguments."""
    sets = []
    for item in filter(None, spec.split(",")):
        k, _, v = item.partition("=")
        if k not in BILEVEL_KEYS or not v:
            sys.exit(f"unknown or malformed bilevel setting '{item}'; keys: {', '.join(BILEVEL_KEYS)}")
        value = float(v)
        if k == "adam":
            text = "adam" if value != 0 else "sgd"
        elif k == "clip" and value <= 0:
            # No clipping: `--set` cannot unset an optional, so a bound that never binds.
            text = "1e300"
        elif k in INTEGER_KEYS:
            text = str(int(value))
        else:
            text = v
        sets += ["--set", f"bilevel.{BILEVEL_KEYS[k]}={text}"]
    return sets


def bilevel(args):
    check_binary(args.binary)
    budgets = [int(float(b)) for b in args.budgets.split(",")]
    for setting in args.set.split(";"):
        sets = bilevel_settings(setting)
        print("setting:", setting, " ".join(sets[1::2]))
        for budget in budgets:
            lam, lower = [], []
            for seed in range(1, args.seeds + 1):
                with tempfile.TemporaryDirectory(prefix="rlhf-bilevel-") as out:
                    cmd = [args.binary, "train", "--algorithm", "bilevel", "--env", "classic", "--link", "bradley-terry",
                           "--evaluators", "10", "--reward-hidden", "", "--queries", str(budget), "--seed", str(seed),
                           "--out", out, "--json", "--quiet"] + (["--exact"] if args.exact else []) + sets
                    d = json.loads(run(cmd))
                    fig = d.get("figures") or {}
                    # Evaluation points of the run (metrics.csv): λ is the run's policy with
                    # --bilevel-deploy penalty only, so the trace is of the run's policy, λ'.
                    with open(os.path.join(out, "metrics.csv")) as f:
                        curve = [float(r["normalized_value"]) for r in csv.DictReader(f) if r.get("normalized_value")]
                points = [curve[(i + 1) * len(curve) // 8 - 1] for i in range(8)] if len(curve) >= 8 else curve
                trace = " ".join(f"{v:.2f}" for v in points)
                lam.append(fig["penalty_policy_normalized"])
                lower.append(d["normalized_value"])
                print(f"budget {budget:7d} seed {seed}: iters {d['iterations']:5d}  λ {lam[-1]:.3f}  λ' {lower[-1]:.3f}  "
                      f"agree(λ) {fig.get('reward_agreement', float('nan')):.3f}  {d['wall_seconds']:.1f}s  trace(λ') {trace}",
                      flush=True)
            for name, v in (("λ", lam), ("λ'", lower)):
                s = sorted(v)
                print(f"SUMMARY [{setting}] budget {budget} {name}: median {s[len(s) // 2]:.3f}  min {s[0]:.3f}  max {s[-1]:.3f}  "
                      f"({' '.join(f'{x:.3f}' for x in v)})")


# MARK: - report examples

def report_examples(args):
    check_binary(args.binary)
    budgets = "[2e3, 5e3]" if args.quick else "[1e4, 1e5]"
    seeds = 2 if args.quick else 5
    training = f"""name: report-example
title: Sample efficiency (example)
question: Do the zeroth-order methods beat the baselines at equal queries?
answer:
  compare:
    a: {{name: the zeroth-order methods, variants: [zpg, zbcpg-k4]}}
    b: {{name: the baselines, variants: [rm-ppo, dpo]}}
environments: [classic]
links: [bradley-terry, weibull]
seeds: {seeds}
budgets: {budgets}
algorithms:
  - zpg
  - {{label: zbcpg-k4, algorithm: zbcpg, blocks: 4}}
  - {{label: rm-ppo, algorithm: rm-ppo, rm-ppo: {{reward-model: {{hidden: []}}}}}}
  - dpo
"""
    measurement = f"name: report-example-sigma\nkind: hypergradient\nseeds: [1, 2, 3]\nquick: {'true' if args.quick else 'false'}\n"
    # A study folder holds one study: the quick and the full versions go to different folders.
    base = args.out or ("out/report-examples" + ("-quick" if args.quick else ""))
    for name, text in (("training", training), ("measurement", measurement)):
        out = os.path.join(base, name)
        seconds = study(args.binary, text, out)
        print(f"{name}: {seconds:.1f} s → " + ", ".join(sorted(f for f in os.listdir(out) if f.endswith((".md", ".csv", ".svg")))))
        print(f"  {os.path.join(out, 'report.md')}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=".build/release/rlhf", help="the rlhf executable (default: %(default)s)")
    sub = ap.add_subparsers(dest="command", required=True)

    m = sub.add_parser("measurements", help="critic / hypergradient / gradient measurements at full size (or --quick)")
    m.add_argument("--kinds", default="critic,hypergradient,gradient")
    m.add_argument("--quick", action="store_true", help="the quick versions on seeds 1, 2 (seconds)")
    m.add_argument("--out", default="out/experiments/measurements")
    m.set_defaults(func=measurements)

    b = sub.add_parser("bilevel", help="Algorithm 1 on classic: settings × budgets × seeds")
    b.add_argument("--budgets", default="10000,100000")
    b.add_argument("--seeds", type=int, default=3)
    b.add_argument("--set", default="", help="k=v,… in the old short keys; settings separated by ';'")
    b.add_argument("--exact", action="store_true", help="exact mode (exact Q and J-gradients)")
    b.add_argument("--quick", action="store_true", help="budget 2000, 2 seeds (overrides --budgets and --seeds)")
    b.set_defaults(func=bilevel)

    r = sub.add_parser("report-examples", help="example training and measurement reports and plots")
    r.add_argument("--out", help="output folder (default: out/report-examples, with --quick out/report-examples-quick)")
    r.add_argument("--quick", action="store_true", help="budgets 2000 and 5000, 2 seeds, the quick hypergradient measurement")
    r.set_defaults(func=report_examples)

    args = ap.parse_args()
    if args.command == "bilevel" and args.quick:
        args.budgets, args.seeds = "2000", 2
    args.func(args)


if __name__ == "__main__":
    main()
