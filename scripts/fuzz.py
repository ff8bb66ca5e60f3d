#!/usr/bin/env python3
"""Fuzz the `rlhf` command line: clean success or clean error, never a crash, hang or non-finite output.

Generates many inputs from one seed -- `rlhf train` option vectors, `--set KEY=VALUE` pairs, map
files, study files and damaged checkpoints -- runs the binary on each, and judges every run:

  CRASH           killed by a signal, exit status >= 128, or a Swift runtime trap on stderr
  HANG            did not exit within --timeout CPU seconds (3× that in wall time)
  BLOWUP          resident memory above --memory-limit MB (killed), or died by a signal near it
  SILENT_FAILURE  exit 0 with a wrong or unusable result: non-finite or unparsable --json output,
                  "nan"/"inf" in the text result, more queries used than the budget, a normalized
                  value computed from V* = V(uniform), a value above V*, help printed for an argument,
                  a damaged/edited checkpoint accepted, colliding or invalid study run ids, or a
                  --set / study setting accepted where the matching option refuses the same value
  UGLY_ERROR      an error exit whose message is empty or leaks internals (EncodingError,
                  DecodingError, "The given data was not valid JSON", Swift., Optional(...), the
                  top-level usage for a subcommand's mistake, a missing map file called unknown)
  OK              clean success or clean error
  SLOW            timed out while running a large size it was asked for (e.g. --queries 2147483648,
                  --ppo-updates 100000): long by request, not judged, not a failure

The summary gives the counts per generator and category, the distinct findings with the shortest
command seen (and shrunk ones with --minimize), and the worst peak resident memory (wait4's ru_maxrss)
with its case. Every case is reproducible from (--seed, index): `--case K` reruns one case and prints its output.
Exit status: 1 if any CRASH, HANG, SILENT_FAILURE or BLOWUP (or UGLY_ERROR with --strict), else 0.

  python3 scripts/fuzz.py --binary .build/release/rlhf --cases 400 --seed 1
  python3 scripts/fuzz.py --binary .build/release/rlhf --seed 1 --case 17        # one case, verbose
  python3 scripts/fuzz.py --binary .build/release/rlhf --seed 1 --case 17 --keep-failures /tmp/f   # and its files
  python3 scripts/fuzz.py --self-test                                              # the oracle itself

Standard library only (CI has python3 and nothing else for this).
"""

import argparse
import json
import math
import os
import random
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

CATEGORIES = ["OK", "SLOW", "CRASH", "HANG", "BLOWUP", "SILENT_FAILURE", "UGLY_ERROR"]
FATAL = {"CRASH", "HANG", "BLOWUP", "SILENT_FAILURE"}
GENERATORS = ["train", "set", "map", "study", "checkpoint"]
WEIGHTS = [34, 20, 20, 16, 10]

TRAP_MARKERS = ["Fatal error", "fatal error:", "Illegal instruction", "Segmentation", "Trace/breakpoint",
                "Stack dump", "Current stack trace", "Aborted", "core dumped", "SIGSEGV", "SIGILL", "SIGTRAP"]
UGLY_MARKERS = ["EncodingError", "DecodingError", "The given data was not valid JSON", "Swift.", "Optional(",
                "Error Domain=", "NSCocoaErrorDomain", "CodingKeys", "debugDescription", "underlyingError",
                "keyNotFound(", "typeMismatch(", "dataCorrupted(", "YamlError", "Yams.", "Context(",
                "error 1.)", "(null)", "Cannot initialize", "Data was corrupted", "decoding container",
                "Debug description"]

I64_MAX = "9223372036854775807"

# --------------------------------------------------------------------------------------------
# Value pools


def hostile_values(rng):
    """Values no option should take silently."""
    return rng.choice([
        "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "+inf", "1e308", "-1e308", "1e309", "4.9e-324",
        "1e-300", I64_MAX, "9223372036854775808", "-9223372036854775808", "18446744073709551615",
        "18446744073709551616", "99999999999", "2147483648", "-1", "-0", "0", "-0.0", "", " ", "x", "1x",
        "0x10", "+5", " 5", "5 ", "1,5", "1.5", "٣", "１０", "é", "\u202e1", "\u00a05", "9" * 400, "1e6",
        "10^6", "1_000_000", "1.5e5", "1e", "e5", "--", "-x", "-1e9", "true", "null", "[1]", "{}", "'1'",
        "1\t", "١e٣",
    ])


def boundary_int(rng):
    return rng.choice(["0", "1", "2", "-1", "-0", I64_MAX, "-9223372036854775808", "2147483647", "2147483648",
                       "4294967296", "1000000000", "99999999999", "1e6", "10^6", "1_000_000", "1.5e5", "1.0",
                       "1.5", "1e18", "1e19"])


def boundary_float(rng):
    return rng.choice(["0", "-0", "1", "-1", "0.5", "1e-300", "4.9e-324", "1e308", "-1e308", "1e309", "nan",
                       "inf", "-inf", "2", "1.0000000001", "0.9999999999", "1e6", "1e-9", "-1e-9", "10^6",
                       "1_000", ".5", "5.", "1e+2"])


# Options of `rlhf train`: kind and a generator of valid values (small, so that runs finish fast).
def _i(lo, hi):
    return lambda rng: str(rng.randint(lo, hi))


def _f(lo, hi):
    return lambda rng: repr(round(rng.uniform(lo, hi), rng.choice([1, 2, 3, 6])))


def _c(*xs):
    return lambda rng: rng.choice(xs)


def _widths(rng):
    return ",".join(str(rng.randint(1, 12)) for _ in range(rng.randint(1, 3)))


def _env(rng):
    return rng.choice(["classic", "traps", "cliff", "open-3", "open-5", "open-12", "cartpole",
                       "bandit-%dx%dx%d" % (rng.randint(1, 6), rng.randint(1, 6), rng.randint(1, 6)),
                       "open-0", "open-1", "bandit-0x2x2", "bandit-1x1x1", "unknown-env", "Classic"])


TRAIN_OPTIONS = {
    # name: (kind, valid generator)
    "algorithm": ("enum", _c("zpg", "zbcpg", "rm-ppo", "rm-ppo-offline", "dpo", "online-dpo", "ppo-true-reward", "bilevel")),
    "env": ("enum", _env),
    "slip": ("float", _f(0, 1)),
    "horizon": ("int", _i(1, 40)),
    "step-reward": ("float", _f(-0.2, 0.1)),
    "policy": ("enum", _c("tabular", "mlp")),
    "hidden": ("widths", _widths),
    "activation": ("enum", _c("tanh", "relu", "leaky-relu(0.01)", "identity", "leaky-relu(0.2)", "sigmoid", "leaky-relu(x)")),
    "features": ("enum", _c("coordinates", "one-hot", "onehot", "one_hot")),
    "eval-episodes": ("int", _i(1, 30)),
    "link": ("enum", _c("bradley-terry", "weibull", "thurstone", "logistic")),
    "link-scale": ("float", _f(0.1, 5)),
    "weibull-shape": ("float", _f(0.2, 5)),
    "evaluators": ("int", _i(1, 20)),
    "pairs": ("int", _i(1, 16)),
    "queries": ("int", _i(100, 20000)),
    "seed": ("int", _i(0, 1000)),
    "mu": ("float", _f(0.01, 8)),
    "alpha": ("float", _f(0.0001, 0.1)),
    "trim": ("float", _f(0, 0.5)),
    "clip": ("float", _f(0.01, 10)),
    "blocks": ("int", _i(1, 8)),
    "block-mode": ("enum", _c("partition", "random", "layers")),
    "block-size": ("int", _i(1, 30)),
    "threads": ("int", _i(1, 2)),
    "mistake-rate": ("float", _f(0, 0.5)),
    "equal-threshold": ("float", _f(0, 0.5)),
    "skip-threshold": ("float", _f(-1, 1)),
    "myopic-discount": ("float", _f(0.5, 1)),
    "eval-every": ("int", _i(1, 20)),
    "beta": ("float", _f(0.001, 0.5)),
    "dpo-lr": ("float", _f(0.001, 0.3)),
    "dpo-epochs": ("int", _i(1, 4)),
    "dpo-reference": ("enum", _c("initial", "previous-round", "previousRound")),
    "pairs-per-round": ("int", _i(1, 40)),
    "max-pairs": ("int", _i(1, 200)),
    "ppo-lr": ("float", _f(0.0001, 0.1)),
    "ppo-updates": ("int", _i(1, 4)),
    "ppo-steps": ("int", _i(8, 128)),
    "reward-hidden": ("widths", lambda rng: rng.choice(["", _widths(rng)])),
    "reward-epochs": ("int", _i(1, 4)),
    "sigma": ("float", _f(0.1, 20)),
    "bilevel-pairs": ("int", _i(1, 8)),
    "bilevel-deploy": ("enum", _c("lower-level", "penalty", "lowerLevel")),
    "exact": ("flag", None),
}

# Options whose size scales the work of a valid run: a large value may legitimately run past the timeout.
WORK_OPTIONS = {"queries": 1e6, "ppo-updates": 1e3, "ppo-steps": 1e4, "dpo-epochs": 1e3, "eval-episodes": 1e4,
                "reward-epochs": 1e3, "evaluators": 1e4, "pairs": 1e4, "horizon": 1e4, "pairs-per-round": 1e4,
                "max-pairs": 1e5, "bilevel-pairs": 1e4, "hidden": 1e4, "reward-hidden": 1e4, "blocks": 1e4,
                "block-size": 1e5, "threads": 64, "eval-every": 1e9}


def heavy_options(chosen):
    """The options of `chosen` set to a size that may make a valid run long (a timeout is then SLOW)."""
    heavy = []
    for name, value in chosen.items():
        limit = WORK_OPTIONS.get(name)
        if limit is None or value is None:
            continue
        for part in str(value).split(","):
            try:
                x = float(part.replace("_", "").replace("^", "e").replace("10e", "1e"))
            except ValueError:
                continue
            if x >= limit and name != "eval-every":
                heavy.append(name)
    return heavy


def heavy_set_values(pairs):
    """`--set` pairs with a number >= 10^4 (a size that may make a valid run long)."""
    heavy = []
    for p in pairs:
        key, _, value = p.partition("=")
        try:
            if abs(float(value.strip().replace("_", ""))) >= 1e4:
                heavy.append("--set " + key)
        except ValueError:
            pass
    return heavy


# Option -> `--set` key for the same setting (only pairs whose key the binary knows are used).
OPTION_TO_SET = {
    "mistake-rate": "teacher.mistake-rate", "equal-threshold": "teacher.equal-threshold",
    "skip-threshold": "teacher.skip-threshold", "myopic-discount": "teacher.myopic-discount",
    "evaluators": "evaluators", "pairs": "pairs", "mu": "mu", "alpha": "alpha", "trim": "trim",
    "clip": "gradient-clip", "blocks": "blocks", "block-size": "block-size", "threads": "threads",
    "eval-episodes": "evaluation-episodes", "sigma": "bilevel.sigma", "bilevel-pairs": "bilevel.pairs-per-iteration",
    "beta": "dpo.beta", "dpo-lr": "dpo.learning-rate", "ppo-lr": "ppo.learning-rate",
    "ppo-updates": "ppo-updates", "ppo-steps": "ppo.steps-per-update",
}
# Values both forms parse (plain decimals), so a difference is a validation difference.
DIFF_VALUES_INT = ["-5", "-1", "0", "1", "3", "100000", "1000000000", I64_MAX]
DIFF_VALUES_FLOAT = ["-1", "-0.5", "0", "0.5", "1", "1.5", "2", "100", "1e308"]

# --------------------------------------------------------------------------------------------
# Cases


class Case:
    def __init__(self, index, generator, argv, files=None, base=None, note="", checks=()):
        self.index = index
        self.generator = generator
        self.argv = argv                # ['rlhf', ...]; '{D}' is replaced by the case's folder
        self.files = files or {}        # relative name -> bytes, written into the case's folder
        self.base = base                # a checkpoint base to copy into {D}/run
        self.note = note
        self.checks = set(checks)
        self.mutate = None              # function(run_dir, rng) for checkpoint cases
        self.pre = None                 # a differential pre-run: (argv, description)
        self.meta = {}


def option_tokens(rng, name, value):
    """`--name value` or `--name=value` (values starting with '-' get both forms)."""
    if value is None:
        return ["--" + name]
    return ["--%s=%s" % (name, value)] if rng.random() < 0.4 else ["--" + name, value]


def budget_args(rng, algorithm, chosen=()):
    """A small budget (and few PPO updates) so that valid runs finish in a second or so."""
    args = [] if "queries" in chosen else ["--queries", str(rng.choice([200, 500, 1000, 2000, 5000, 10000, 20000]))]
    if algorithm in ("ppo-true-reward", "rm-ppo", "rm-ppo-offline"):
        if "ppo-updates" not in chosen:
            args += ["--ppo-updates", str(rng.randint(1, 3))]
        if "ppo-steps" not in chosen:
            args += ["--ppo-steps", str(rng.choice([16, 32, 64]))]
    return args


def gen_train(rng, index, ctx):
    argv = [ctx.binary, "train"]
    algorithm = rng.choice(["zpg", "zpg", "zbcpg", "online-dpo", "dpo", "rm-ppo", "rm-ppo-offline", "bilevel", "ppo-true-reward"])
    chosen = {}
    for name in rng.sample(sorted(TRAIN_OPTIONS), rng.randint(1, 6)):
        kind, valid = TRAIN_OPTIONS[name]
        r = rng.random()
        if kind == "flag":
            value = None
        elif r < 0.5:
            value = valid(rng)
        elif r < 0.78:
            value = boundary_int(rng) if kind == "int" else boundary_float(rng) if kind == "float" else hostile_values(rng)
        else:
            value = hostile_values(rng)
        chosen[name] = value
    if "algorithm" not in chosen:
        chosen = dict(algorithm=algorithm, **chosen)
    if chosen.get("algorithm") in ("ppo-true-reward", "rm-ppo", "rm-ppo-offline", "bilevel") and "env" not in chosen and rng.random() < 0.7:
        chosen["env"] = rng.choice(["bandit-2x2x2", "open-3", "classic"])
    for name, value in chosen.items():
        argv += option_tokens(rng, name, value)
    heavy = heavy_options(chosen)
    argv += budget_args(rng, chosen.get("algorithm", "zpg"), chosen)
    if "horizon" not in chosen and chosen.get("env") == "cartpole":
        argv += ["--horizon", "50"]
    if "threads" not in chosen:
        argv += ["--threads", "1"]
    if rng.random() < 0.7:
        argv.append("--json")
    argv.append("--quiet")
    if rng.random() < 0.25:
        argv += ["--out", "{D}/out"]
    c = Case(index, "train", argv, note="options " + ",".join(chosen))
    c.meta["heavy"] = heavy
    return c


def gen_set(rng, index, ctx):
    keys = ctx.set_keys
    if rng.random() < 0.3 and ctx.diff_pairs:
        # Differential: the option refuses a value -> the --set form must refuse it too.
        option, key = rng.choice(ctx.diff_pairs)
        kind = TRAIN_OPTIONS[option][0]
        value = rng.choice(DIFF_VALUES_INT if kind == "int" else DIFF_VALUES_FLOAT)
        algorithm = rng.choice(["zpg", "zbcpg", "online-dpo", "bilevel", "rm-ppo"])
        base = [ctx.binary, "train", "--algorithm", algorithm, "--env", "bandit-2x2x2", "--queries", "2000",
                "--threads", "1", "--json", "--quiet"]
        if algorithm == "rm-ppo":
            base += ["--ppo-updates", "1", "--ppo-steps", "16"]
        c = Case(index, "set", base + ["--set", "%s=%s" % (key, value)], note="differential %s / --set %s" % (option, key))
        c.meta["heavy"] = heavy_set_values(["%s=%s" % (key, value)])
        c.pre = (base + ["--%s=%s" % (option, value)], "--%s=%s" % (option, value))
        return c
    argv = [ctx.binary, "train"]
    algorithm = rng.choice(["zpg", "zbcpg", "online-dpo", "dpo", "rm-ppo", "bilevel"])
    argv += ["--algorithm", algorithm, "--env", rng.choice(["bandit-2x2x2", "open-3", "classic"])]
    argv += budget_args(rng, algorithm) + ["--threads", "1"]
    pairs = []
    for _ in range(rng.randint(1, 4)):
        key = rng.choice(keys) if keys else "evaluators"
        r = rng.random()
        if r < 0.08:
            key = rng.choice([key.upper(), key.replace("-", "_"), key + ".", "." + key, key + "..x", "",
                              key.replace(".", ".."), key + " ", "zz." + key, key + ".zz"])
        v = rng.random()
        if v < 0.35:
            value = rng.choice(["0", "1", "2", "0.5", "0.1", "10", "-1", "-0.5", "3", "20"])
        elif v < 0.55:
            value = boundary_float(rng)
        else:
            value = rng.choice([hostile_values(rng), ".nan", ".inf", "-.inf", "~", "[1, 2]", "{a: 1}", "[]", "{}",
                                "a: b", "#c", "&a 1", "*a", "!!str 5", "!!binary x", "'5'", "\"5\"", "- 1",
                                "|", ">", "@", "`", "%", "1 # comment", "yes", "no", "on", "off", "0o17", "0b11",
                                "1:30", "2001-12-14", "\x01", "\u2028", "a\nb"])
        form = rng.random()
        pair = "%s=%s" % (key, value) if form > 0.05 else rng.choice([key, "=" + value, key + "==" + value])
        pairs.append(pair)
    for p in pairs:
        argv += ["--set=" + p] if rng.random() < 0.3 else ["--set", p]
    if rng.random() < 0.7:
        argv.append("--json")
    argv.append("--quiet")
    c = Case(index, "set", argv, note="--set " + " ".join(pairs))
    c.meta["heavy"] = heavy_set_values(pairs)
    return c


def random_map(rng):
    kind = rng.random()
    if kind < 0.03:
        rows, cols = rng.choice([(2000, 2000), (1, 200000), (5000, 3), (600, 600)])
    elif kind < 0.1:
        rows, cols = rng.randint(30, 120), rng.randint(30, 120)
    else:
        rows, cols = rng.randint(1, 14), rng.randint(1, 14)
    alphabet = ".....###SGT"
    if rng.random() < 0.3:
        alphabet += rng.choice(["x", " ", "\t", "é", "0", "s", "g", "@", "\u00a0", "\u2588", "\x7f"])
    grid = [[rng.choice(alphabet) for _ in range(cols)] for _ in range(rows)]
    # Usually exactly one S and at least one G.
    if rng.random() < 0.85:
        for row in grid:
            for j, ch in enumerate(row):
                if ch == "S":
                    row[j] = "."
        grid[rng.randrange(rows)][rng.randrange(cols)] = "S"
        if rng.random() < 0.9:
            grid[rng.randrange(rows)][rng.randrange(cols)] = "G"
    if rng.random() < 0.1 and rows >= 3 and cols >= 3:   # wall the goal in
        r, c = rng.randrange(1, rows - 1), rng.randrange(1, cols - 1)
        grid[r][c] = "G"
        for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            grid[r + dr][c + dc] = "#"
    lines = ["".join(r) for r in grid]
    if rng.random() < 0.15:   # ragged
        lines = [l[: rng.randint(0, len(l))] if rng.random() < 0.5 else l for l in lines]
    if rng.random() < 0.1:
        lines.insert(rng.randint(0, len(lines)), "")
    if rng.random() < 0.1:
        lines = [l + " " * rng.randint(1, 3) for l in lines]
    sep = rng.choice(["\n"] * 6 + ["\r\n", "\r"])
    text = sep.join(lines) + (sep if rng.random() < 0.7 else "")
    data = text.encode("utf-8")
    m = rng.random()
    if m < 0.06:
        data = b"\xef\xbb\xbf" + data
    elif m < 0.1:
        i = rng.randint(0, len(data))
        data = data[:i] + b"\x00" + data[i:]
    elif m < 0.12:
        data = text.encode("utf-16")
    elif m < 0.14:
        data = b""
    elif m < 0.16:
        data = b"\n\n\n"
    elif m < 0.18:
        data = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    elif m < 0.2:
        i = rng.randint(0, max(0, len(data) - 1))
        data = data[:i] + bytes([rng.randrange(128, 256)]) + data[i + 1:]
    return data


def gen_map(rng, index, ctx):
    data = random_map(rng)
    name = rng.choice(["map.txt"] * 8 + ["my map.txt", "mäp.txt", "map", "-dash.txt", "m.yaml"])
    path = name if not name.startswith("-") else name
    files = {name: data}
    r = rng.random()
    if r < 0.04:
        files = {}
        path = rng.choice(["missing.txt", "no/such/dir/map.txt", "missing"])
    elif r < 0.09:
        files = {}
        path = rng.choice(["classic", "traps", "cliff", "open-4", "open-0", "open-1", "open-100", "cartpole", "bandit",
                           "bandit-2x2x2", "bandit-0x1x1", "bandit-%sx2x2" % I64_MAX, "bandit-100000x100000x100000", "open-%s" % I64_MAX])
    dyn = []
    if rng.random() < 0.3:
        opt = rng.choice(["slip", "horizon", "step-reward"])
        kind = "int" if opt == "horizon" else "float"
        value = TRAIN_OPTIONS[opt][1](rng) if rng.random() < 0.6 else (boundary_int(rng) if kind == "int" else boundary_float(rng))
        dyn = option_tokens(rng, opt, value)
    if rng.random() < 0.6:
        argv = [ctx.binary, "env", path] + dyn + (["--json"] if rng.random() < 0.8 else [])
    else:
        argv = [ctx.binary, "train", "--env", path, "--queries", "2000", "--threads", "1"] + dyn + ["--quiet"]
        if rng.random() < 0.7:
            argv.append("--json")
    c = Case(index, "map", argv, files=files, note="map %s %d bytes" % (name, len(data)))
    c.meta["map_missing"] = not files and "." in path
    return c


STUDY_SKELETON = [
    ("name", "fz"),
    ("environments", "[classic]"),
    ("links", "[bradley-terry]"),
    ("seeds", "2"),
    ("budgets", "[1000, 2000]"),
    ("algorithms", "[zpg]"),
]


def yaml_scalar(rng):
    return rng.choice(["1", "0", "-1", "2", "0.5", "1e4", "10^4", "1_000", "1.5", "nan", ".nan", ".inf", "-.inf",
                       I64_MAX, "1e15", "1e308", "~", "null", "yes", "''", "\"\"", "[]", "{}", "[1, 1]", "x", "é",
                       "[0, 1, 2]", "[a, b]", "{a: 1}", "9" * 60])


def gen_study(rng, index, ctx):
    entries = [list(e) for e in STUDY_SKELETON]
    real = rng.random() < 0.08
    extras = []
    notes = []
    pre = None
    nmut = 0 if real and rng.random() < 0.5 else rng.randint(1, 3)
    for _ in range(nmut):
        m = rng.randrange(22)
        notes.append(m)
        if m == 0:    # unknown key
            entries.append([rng.choice(["nmae", "seed", "budget", "algorithm", "setings", "x" * 300]), yaml_scalar(rng)])
        elif m == 1:  # wrong type for a key
            e = rng.choice(entries)
            e[1] = yaml_scalar(rng)
        elif m == 2:  # duplicate key
            entries.append(list(rng.choice(entries)))
        elif m == 3:  # seeds: huge count or list
            entries[3][1] = rng.choice(["100000", "1e15", I64_MAX, "0", "-1", "[0, 0]", "[]", "[-1]", "1e6", "[1.5]",
                                        "[%s]" % ", ".join(str(i) for i in range(rng.randint(1, 3000)))])
        elif m == 4:  # labels
            label = rng.choice(["a b", "a_b", "m 20%", "m 20#", "x" * rng.choice([100, 250, 300, 1000]), "a/b",
                                "..", ".", "", "con", "a\\b", "é", "a:b", "\"a\\u0000b\"", "'*'", "lbl"])
            label2 = rng.choice(["a b", "a_b", "m 20%", "m 20#", "lbl", "a-b", "A B"])
            entries[5][1] = "\n  - {label: %s, algorithm: zpg}\n  - {label: %s, algorithm: zpg, mu: 2}" % (label, label2)
        elif m == 5:  # feedback or settings with teacher settings (validation bypass)
            key = rng.choice(["mistake-rate", "equal-threshold", "myopic-discount", "skip-threshold", "mistake_rate", "nope"])
            value = rng.choice(["2", "-1", "0.5", "1.5", "0", "1e308", "-0.5"])
            if rng.random() < 0.5:
                entries.append(["feedback", "\n  - {label: f, teacher: {%s: %s}}" % (key, value)])
            else:
                entries.append(["settings", "{teacher: {%s: %s}}" % (key, value)])
            if key in TRAIN_OPTIONS:
                pre = (["--%s=%s" % (key, value)], "--%s=%s" % (key, value))
        elif m == 6:  # settings map with hostile values
            key = rng.choice(ctx.set_keys) if ctx.set_keys else "evaluators"
            if ctx.diff_pairs and rng.random() < 0.4:
                option, key = rng.choice(ctx.diff_pairs)
                value = rng.choice(DIFF_VALUES_INT if TRAIN_OPTIONS[option][0] == "int" else DIFF_VALUES_FLOAT)
                pre = (["--%s=%s" % (option, value)], "--%s=%s" % (option, value))
            else:
                value = yaml_scalar(rng)
            parts = key.split(".")
            inner = "%s: %s" % (parts[-1], value)
            for p in reversed(parts[:-1]):
                inner = "%s: {%s}" % (p, inner)
            entries.append(["settings", "{%s}" % inner])
        elif m == 7:  # alias bomb
            depth = rng.randint(2, 9)
            bomb = "\nbomb0: &b0 [x, x, x, x, x, x, x, x, x, x]"
            for d in range(1, depth):
                bomb += "\nbomb%d: &b%d [*b%d, *b%d, *b%d, *b%d, *b%d, *b%d, *b%d, *b%d, *b%d, *b%d]" % ((d, d) + (d - 1,) * 10)
            extras.append(bomb.lstrip("\n"))
        elif m == 8:  # anchors and aliases used for real
            entries[1][1] = "&envs [classic]"
            entries.append(["notes", "*envs"])
        elif m == 9:  # a variant overriding an axis
            entries[5][1] = "\n  - {label: v, algorithm: zpg, %s}" % rng.choice(["link: weibull", "environment: traps", "seed: 3", "budget: 5", "environment: {name: classic, slip: 2}"])
        elif m == 10:  # budgets
            entries[4][1] = rng.choice(["[1]", "[0]", "[-1]", "[1e4, 1e4]", "[%s]" % I64_MAX, "[1e308]", "[nan]", "[1e4, 10^4]",
                                        "[1_000, 1.5e3]", "[]", "5000", "[1.5]", "[10^20]"])
        elif m == 11:  # environments
            entries[1][1] = rng.choice(["[open-500]", "[bandit-100000x100000x100000]", "[bandit-%sx2x2]" % I64_MAX,
                                        "[{name: classic, horizon: 1000000000}]", "[{name: classic, slip: nan}]",
                                        "[{name: classic, horizon: 3}]", "[{name: classic, slip: 1}]", "[missing.txt]",
                                        "[cartpole]", "[{name: classic, slip: -1}]", "[{horizon: 3}]", "[classic, classic]"])
        elif m == 12:  # links
            entries[2][1] = rng.choice(["[weibull]", "[{kind: weibull, shape: 0}]", "[{kind: bradley-terry, scale: -1}]",
                                        "[{kind: thurstone, scale: nan}]", "[logit]", "[bradley-terry, bradley-terry]"])
        elif m == 13:  # algorithms
            entries[5][1] = rng.choice(["[zpg, zpg]", "[nope]", "[{algorithm: zbcpg, blocks: %s}]" % I64_MAX,
                                        "[{algorithm: zpg, hidden: 99999999999, policy: mlp}]", "[{algorithm: dpo, dpo: {beta: -1}}]",
                                        "[{algorithm: zpg, evaluators: 1.5}]", "[{algorithm: zpg, mu: nan}]", "[]",
                                        "[{algorithm: zpg, budgets: [3000]}]", "[{label: x}]"])
        elif m == 14:  # NUL byte somewhere
            extras.append("\x00")
        elif m == 15:  # kind
            entries.append(["kind", rng.choice(["gradient", "training", "nope", "fixed-point", "[1]"])])
        elif m == 16:  # evaluations / workers / quick
            entries.append([rng.choice(["evaluations", "workers", "quick"]), yaml_scalar(rng)])
        elif m == 17:  # answer rules
            entries.append(["answer", rng.choice(["best", "trend", "nope", "{threshold: 2}", "{threshold: nan}",
                                                  "{compare: {a: {variants: [zpg]}, b: {variants: [nope]}}}"])])
        elif m == 18:  # tabs / bad indentation / unclosed brackets
            extras.append(rng.choice(["\tbad: 1", "  indented: 1", "x: [1, 2", "x: {a: 1", "? complex\n: key", "- item", "---\nname: two", "%YAML 1.1", "!!python/object:os.system x"]))
        elif m == 19:  # remove a required key
            entries[rng.choice([1, 3, 4, 5])][0] = None   # removed (indices of the others stay)
        elif m == 20:  # long strings
            entries.append(["question", "q" * rng.choice([1000, 100000])])
        elif m == 21:  # questions / titles with odd characters
            entries[0][1] = rng.choice(["\"a\\u0000b\"", "'../x'", "/abs", "é", "\"\"", "a b", "x" * 300])
    text = "\n".join("%s: %s" % (k, v) for k, v in entries if k is not None)
    if extras:
        text += "\n" + "\n".join(extras)
    text += "\n"
    enc = rng.random()
    if enc < 0.05:
        data = b"\xef\xbb\xbf" + text.encode()
    elif enc < 0.08:
        data = text.encode("utf-16")
    elif enc < 0.1:
        data = text.replace("\n", "\r\n").encode()
    elif enc < 0.12:
        data = text.encode()[: rng.randint(0, len(text.encode()))]
    else:
        data = text.encode("utf-8", "surrogatepass")
    if 15 in notes:
        real = False   # measurement studies (kind: gradient, fixed-point) are long by design: dry run only
    name = rng.choice(["study.yaml"] * 6 + ["s.yml", "my study.yaml", "é.yaml"])
    argv = [ctx.binary, "study", name, "--out", "{D}/out", "--quiet"]
    if real:
        argv += ["--workers", "1"]
    else:
        argv.append("--dry-run")
    c = Case(index, "study", argv, files={name: data}, note="study mutations %s%s" % (notes, " (real run)" if real else ""))
    c.meta["real"] = real
    if pre and not real:
        c.pre = ([ctx.binary, "train", "--env", "bandit-2x2x2", "--queries", "1000", "--threads", "1", "--quiet", "--json"] + pre[0], pre[1])
    return c


CHECKPOINT_BASES = {
    "zpg": ["--algorithm", "zpg", "--queries", "20000"],
    "online-dpo": ["--algorithm", "online-dpo", "--queries", "20000"],
    "zbcpg": ["--algorithm", "zbcpg", "--blocks", "2", "--queries", "20000"],
}


def numeric_leaves(obj, path=()):
    if isinstance(obj, bool):
        return
    if isinstance(obj, (int, float)):
        yield path
    elif isinstance(obj, dict):   # sorted: rlhf writes the keys in a different order each run
        for k, v in sorted(obj.items()):
            yield from numeric_leaves(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from numeric_leaves(v, path + (i,))


def all_paths(obj, path=()):
    if isinstance(obj, dict):
        for k, v in sorted(obj.items()):
            yield path + (k,)
            yield from all_paths(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield path + (i,)
            yield from all_paths(v, path + (i,))


def path_name(path):
    """state.records[].queries: the key path without list indices (the same finding at any index)."""
    return ".".join("[]" if isinstance(p, int) else str(p) for p in path).replace(".[]", "[]")


def get_in(obj, path):
    for p in path:
        obj = obj[p]
    return obj


def set_in(obj, path, value):
    get_in(obj, path[:-1])[path[-1]] = value


def gen_checkpoint(rng, index, ctx):
    base = rng.choice(sorted(CHECKPOINT_BASES))
    argv = [ctx.binary, "train", "--out", "{D}/run"] + CHECKPOINT_BASES[base] + ["--threads", "1", "--resume", "--json", "--quiet"]
    if rng.random() < 0.1:   # a different setting than the saved one: the refusal must name exactly it
        opt, value = rng.choice([("seed", "7"), ("mu", "2"), ("evaluators", "5"), ("link", "weibull")])
        argv += ["--%s" % opt, value]
        c = Case(index, "checkpoint", argv, base=base, note="resume %s with --%s %s" % (base, opt, value))
        c.meta["changed_option"] = opt
        c.mutate = None
        return c
    m = rng.randrange(16)
    c = Case(index, "checkpoint", argv, base=base)
    c.meta["mutation"] = m

    def mutate(run_dir, rng=rng, m=m, c=c):
        path = os.path.join(run_dir, "checkpoint.json")
        raw = open(path, "rb").read()
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = None
        desc = ""
        if m <= 4 and doc is not None:
            leaves = list(numeric_leaves(doc))
            wanted = [p for p in leaves if any(str(k).lower() in ("iteration", "queries", "envsteps", "queriesused") for k in p)]
            p = rng.choice(wanted if wanted and rng.random() < 0.6 else leaves)
            old = get_in(doc, p)
            new = rng.choice([old + 1, old - 1, -5, 0, 10 ** 12, 2 ** 63 - 1, -(2 ** 63), old * 2, 1e308, 0.5, old + 0.5, -old])
            set_in(doc, p, new)
            text = json.dumps(doc)
            desc = "set %s from %r to %r" % (path_name(p), old, new)
            c.meta["mutation_sig"] = "set %s" % path_name(p)
            raw = text.encode()
        elif m == 5 and doc is not None:
            paths = list(all_paths(doc))
            p = rng.choice(paths)
            parent = get_in(doc, p[:-1])
            if isinstance(parent, dict):
                del parent[p[-1]]
            else:
                parent.pop(p[-1])
            raw = json.dumps(doc).encode()
            desc = "deleted %s" % path_name(p)
        elif m == 6 and doc is not None:   # empty records / lists
            lists = [p for p in all_paths(doc) if isinstance(get_in(doc, p), list)]
            if lists:
                p = rng.choice(lists)
                set_in(doc, p, [])
                desc = "emptied %s" % path_name(p)
            raw = json.dumps(doc).encode()
        elif m == 7:
            n = rng.randint(0, len(raw) - 1)
            raw = raw[:n]
            desc = "truncated to %d bytes" % n
        elif m == 8:
            b = bytearray(raw)
            for _ in range(rng.randint(1, 4)):
                i = rng.randrange(len(b))
                b[i] ^= 1 << rng.randrange(8)
            raw = bytes(b)
            desc = "flipped bits"
        elif m == 9:
            raw = rng.choice([b"", b"{}", b"[]", b"null", b"\x00" * 16, b"{\"formatVersion\": 1}", raw + b"garbage", raw * 2])
            desc = "replaced with %r" % raw[:20]
        elif m == 10 and doc is not None:
            p = [q for q in numeric_leaves(doc) if "formatVersion" in q] or list(numeric_leaves(doc))
            set_in(doc, p[0], rng.choice([0, 2, -1, 99, 1.5]))
            raw = json.dumps(doc).encode()
            desc = "formatVersion changed"
        elif m == 11 and doc is not None:   # same content, other formatting: must be accepted
            raw = json.dumps(doc, indent=rng.choice([None, 1, 4]), sort_keys=rng.random() < 0.5).encode()
            desc = "reformatted (same values)"
        elif m == 12 and doc is not None:   # a numeric value as a string / wrong type
            p = rng.choice(list(all_paths(doc)))
            set_in(doc, p, rng.choice(["5", None, True, [], {}, "nan"]))
            raw = json.dumps(doc).encode()
            desc = "wrong type at %s" % path_name(p)
        elif m == 13:
            os.remove(path)
            if rng.random() < 0.5:
                os.mkdir(path)
                desc = "checkpoint.json is a directory"
            else:
                desc = "checkpoint.json removed"
            raw = None
        elif m == 14 and doc is not None:   # NaN / Infinity tokens
            leaves = list(numeric_leaves(doc))
            p = rng.choice(leaves)
            set_in(doc, p, rng.choice([float("nan"), float("inf"), float("-inf")]))
            raw = json.dumps(doc).encode()
            desc = "non-finite at %s" % path_name(p)
        else:   # whole-run counters consistent but shifted (iteration +1 and more)
            if doc is not None:
                for p in numeric_leaves(doc):
                    if str(p[-1]).lower() in ("iteration", "iterations"):
                        set_in(doc, p, get_in(doc, p) + rng.choice([1, 10, 1000]))
                raw = json.dumps(doc).encode()
            desc = "iteration advanced"
        if raw is not None:
            with open(path, "wb") as f:
                f.write(raw)
        c.note = "checkpoint %s: %s" % (base, desc)
        c.meta["mutation_kind"] = desc
        try:
            c.meta["semantic_change"] = raw is None or json.loads(raw) != json.loads(ctx.base_checkpoints[base])
        except ValueError:
            c.meta["semantic_change"] = True

    c.mutate = mutate
    return c


GEN_FUNCS = {"train": gen_train, "set": gen_set, "map": gen_map, "study": gen_study, "checkpoint": gen_checkpoint}


def make_case(ctx, index):
    rng = random.Random("%d/%d" % (ctx.seed, index))
    gens = [g for g in GENERATORS if g in ctx.generators]
    weights = [w for g, w in zip(GENERATORS, WEIGHTS) if g in ctx.generators]
    generator = rng.choices(gens, weights)[0]
    case = GEN_FUNCS[generator](rng, index, ctx)
    case.rng = rng
    return case


# --------------------------------------------------------------------------------------------
# Running


class Outcome:
    def __init__(self):
        self.rc = None
        self.signal = None
        self.timed_out = False
        self.memory_killed = False
        self.peak_kb = 0
        self.stdout = b""
        self.stderr = b""
        self.seconds = 0.0


def read_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def read_cpu_seconds(pid):
    """User + system CPU time of a running process (all its threads)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except (OSError, ValueError, IndexError):
        return 0.0


def run_process(argv, cwd, timeout, memory_mb):
    """Runs argv; stops it after `timeout` CPU seconds (so that a loaded machine does not turn slow
    runs into hangs) or 3·timeout wall seconds (a process that waits forever), or above memory_mb."""
    out = Outcome()
    limit_kb = memory_mb * 1024
    address_space = (memory_mb + 2048) * 1024 * 1024

    def limits():
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    with tempfile.TemporaryFile() as so, tempfile.TemporaryFile() as se:
        start = time.monotonic()
        env = dict(os.environ, LC_ALL="C.UTF-8")
        p = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=so, stderr=se,
                             preexec_fn=limits, start_new_session=True, env=env)
        status, usage = None, None
        delay = 0.005
        while True:
            pid, st, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                status, usage = st, ru
                break
            rss = read_rss_kb(p.pid)
            out.peak_kb = max(out.peak_kb, rss)
            if rss > limit_kb:
                out.memory_killed = True
            elif read_cpu_seconds(p.pid) > timeout or time.monotonic() - start > 3 * timeout:
                out.timed_out = True
            if out.memory_killed or out.timed_out:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    pass
                _, status, usage = os.wait4(p.pid, 0)
                break
            time.sleep(delay)
            delay = min(delay * 1.5, 0.05)
        p.returncode = 0   # reaped here; keep Popen from waiting again
        out.seconds = time.monotonic() - start
        out.peak_kb = max(out.peak_kb, usage.ru_maxrss)
        if os.WIFSIGNALED(status):
            out.signal = os.WTERMSIG(status)
            out.rc = -out.signal
        else:
            out.rc = os.WEXITSTATUS(status)
        so.seek(0)
        se.seek(0)
        out.stdout = so.read(4_000_000)
        out.stderr = se.read(1_000_000)
    return out


def expand(argv, d):
    return [a.replace("{D}", d) for a in argv]


# --------------------------------------------------------------------------------------------
# Oracle


class NonFinite(Exception):
    pass


def _constant(name):
    raise NonFinite(name)


def parse_json_strict(text):
    def f(s):
        x = float(s)
        if not math.isfinite(x):
            raise NonFinite(s)
        return x
    return json.loads(text, parse_constant=_constant, parse_float=f)


def nonfinite_in_text(text):
    return re.search(r"(?<![A-Za-z_])[-+]?(nan|inf|infinity)(?![A-Za-z_])", text, re.IGNORECASE)


def summary_problems(s):
    """Invariants of a train summary (exit 0): the result must be right, not only finite."""
    problems = []
    if not isinstance(s, dict):
        return ["the JSON result is not an object"]
    s = {k.replace("_", "").lower(): v for k, v in s.items()}   # queries_used or queriesUsed
    used, budget = s.get("queriesused"), s.get("budget")
    if isinstance(used, (int, float)) and isinstance(budget, (int, float)):
        if used > budget:
            problems.append("queriesUsed %s > budget %s" % (used, budget))
        if used < 0:
            problems.append("queriesUsed %s < 0" % used)
    for k in ("iterations", "envsteps"):
        if isinstance(s.get(k), (int, float)) and s[k] < 0:
            problems.append("%s %s < 0" % (k, s[k]))
    u, o, f, n = (s.get(k) for k in ("uniformvalue", "optimalvalue", "finalvalue", "normalizedvalue"))
    exact = s.get("exactvalues", s.get("finalvaluestandarderror") is None) is True
    if all(isinstance(x, (int, float)) for x in (u, o)):
        gap = o - u
        if isinstance(n, (int, float)) and abs(gap) <= 1e-9 * max(1, abs(o)):
            problems.append("normalized value %s printed although V* = V(uniform) (gap %.3g)" % (n, gap))
        elif isinstance(n, (int, float)) and isinstance(f, (int, float)) and exact and abs(gap) > 1e-9:
            if abs((f - u) / gap - n) > 1e-6 * max(1, abs(n)):
                problems.append("normalized value %s != (final − V(uniform))/(V* − V(uniform)) = %s" % (n, (f - u) / gap))
        if isinstance(f, (int, float)) and exact and f > o + 1e-6 * max(1, abs(o)):
            problems.append("final value %s above V* %s" % (f, o))
    return problems


def env_report_problems(r):
    problems = []
    if not isinstance(r, dict):
        return ["the JSON result is not an object"]
    r = {k.replace("_", "").lower(): v for k, v in r.items()}
    rows, cols, states, d = r.get("rows"), r.get("columns"), r.get("states"), r.get("d")
    if all(isinstance(x, int) for x in (rows, cols, states)) and states > rows * cols:
        problems.append("states %s > rows×columns %s" % (states, rows * cols))
    if isinstance(states, int) and isinstance(d, int) and d != 4 * states:
        problems.append("d %s != 4·|S|" % d)
    u, o = r.get("uniformvalue"), r.get("optimalvalue")
    if isinstance(u, (int, float)) and isinstance(o, (int, float)) and o < u - 1e-9:
        problems.append("V* %s < V(uniform) %s" % (o, u))
    return problems


def classify(case, out, case_dir, ctx):
    """(category, reason) for one run."""
    stderr = out.stderr.decode("utf-8", "replace")
    stdout = out.stdout.decode("utf-8", "replace")
    if out.memory_killed:
        return "BLOWUP", "resident memory above %d MB (killed)" % ctx.memory_limit
    if out.timed_out and case.meta.get("heavy"):
        return "SLOW", "no exit within %g CPU seconds with a large %s (long by request)" % (ctx.timeout, ", ".join(h if h.startswith("--") else "--" + h for h in case.meta["heavy"]))
    if out.timed_out:
        return "HANG", "no exit within %g CPU seconds (or %g s wall)" % (ctx.timeout, 3 * ctx.timeout)
    trap = next((m for m in TRAP_MARKERS if m in stderr), None)
    if out.signal is not None or out.rc >= 128 or trap:
        what = ("signal %s" % signal.Signals(out.signal).name) if out.signal else ("exit %d" % out.rc)
        fatal = next((l.strip() for l in stderr.splitlines() if "atal error" in l), "")
        if out.peak_kb > ctx.memory_limit * 1024 // 2:   # a failed allocation at low memory is a CRASH
            return "BLOWUP", "%s at %d MB %s" % (what, out.peak_kb // 1024, fatal)
        return "CRASH", ("%s %s" % (what, fatal or (trap or ""))).strip()
    argv = case.run_argv
    if out.rc == 0:
        if "--help" not in argv and "-h" not in argv and re.search(r"^USAGE:|^Usage:", stdout, re.M):
            return "SILENT_FAILURE", "printed help and exited 0"
        if "--json" in argv and case.generator != "study":
            try:
                doc = parse_json_strict(stdout)
            except NonFinite as e:
                return "SILENT_FAILURE", "non-finite number in --json output (%s)" % e
            except ValueError:
                return "SILENT_FAILURE", "--json output is not one JSON object"
            probs = env_report_problems(doc) if argv[1] == "env" else summary_problems(doc)
            if probs:
                return "SILENT_FAILURE", "; ".join(probs)
        elif case.generator != "study":
            m = nonfinite_in_text(stdout)
            if m:
                return "SILENT_FAILURE", "'%s' in the text result" % m.group(0)
        for name in ("summary.json",):
            for sub in ("out", "run"):
                p = os.path.join(case_dir, sub, name)
                if os.path.exists(p):
                    try:
                        doc = parse_json_strict(open(p, encoding="utf-8", errors="replace").read())
                    except NonFinite as e:
                        return "SILENT_FAILURE", "non-finite number in %s/%s (%s)" % (sub, name, e)
                    except ValueError:
                        return "SILENT_FAILURE", "%s/%s is not JSON" % (sub, name)
                    probs = summary_problems(doc)
                    if probs:
                        return "SILENT_FAILURE", "%s/%s: %s" % (sub, name, "; ".join(probs))
        if case.generator == "checkpoint" and case.meta.get("changed_option"):
            return "SILENT_FAILURE", "--resume accepted a different --%s than the saved run's" % case.meta["changed_option"]
        if case.generator == "checkpoint" and case.meta.get("semantic_change") and case.meta.get("mutation") != 11:
            return "SILENT_FAILURE", "an edited or damaged checkpoint was accepted (%s)" % case.meta.get("mutation_sig", case.meta.get("mutation_kind", ""))
        if case.generator == "study":
            if "--dry-run" in argv:
                # The run ids are the lines before "N runs" (the time estimate follows it).
                ids = []
                for l in stdout.splitlines():
                    if re.match(r"^\d+ runs$", l):
                        break
                    if l and " study, seeds " not in l:
                        ids.append(l)
                if len(ids) != len(set(ids)):
                    return "SILENT_FAILURE", "dry run lists the same run id twice (runs would share a folder)"
                lower = [i.lower() for i in ids]
                if len(lower) != len(set(lower)):
                    return "SILENT_FAILURE", "dry run lists run ids equal but for case (share a folder on case-insensitive disks)"
                for i in ids:
                    if any(len(part.encode()) > 255 for part in i.split("/")) or "\x00" in i:
                        return "SILENT_FAILURE", "dry run accepts a run id that is not a valid file name (%d bytes)" % len(i.encode())
            else:
                csv = os.path.join(case_dir, "out", "results.csv")
                if os.path.exists(csv):
                    text = open(csv, encoding="utf-8", errors="replace").read()
                    m = nonfinite_in_text(text)
                    if m:
                        return "SILENT_FAILURE", "'%s' in results.csv" % m.group(0)
        if case.pre_outcome is not None and case.pre_outcome.rc not in (0, None) and not case.pre_outcome.timed_out \
                and case.pre_outcome.signal is None and case.pre_outcome.rc < 128:
            return "SILENT_FAILURE", "%s accepts a value the option refuses (%s: %s)" % (
                "a study file" if case.generator == "study" else "--set", case.pre[1],
                first_message(case.pre_outcome.stderr.decode("utf-8", "replace")))
        return "OK", "success"
    # A clean error must say something useful.
    message = stderr.strip()
    if not message:
        return "UGLY_ERROR", "error exit %d with nothing on stderr" % out.rc
    leak = next((m for m in UGLY_MARKERS if m in stderr), None)
    if leak:
        return "UGLY_ERROR", "internal text '%s' in the message: %s" % (leak, first_message(stderr))
    if re.search(r"(--set|<flags>):\d+:\d+", stderr):
        return "UGLY_ERROR", "the message cites a line of YAML generated from the command line: %s" % first_message(stderr)
    m = re.search(r"The value '([^']*)' is invalid for '--([a-z-]+)", stderr)
    if m and re.search(r"\w", m.group(1)) and re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(m.group(1)), ctx.train_help.get(m.group(2), "")):
        return "UGLY_ERROR", "--%s refuses a value its help names ('%s')" % (m.group(2), m.group(1))
    if m and m.group(2) == "queries" and re.fullmatch(r"\d+(\.\d+)?e\d+|10\^\d+|\d{1,3}(_\d{3})+", m.group(1), re.ASCII):
        return "UGLY_ERROR", "--queries refuses the number form '%s' that study budgets accept" % m.group(1)
    m = re.search(r"Missing value for '--([a-z-]+)", stderr)
    if m:
        opt = "--" + m.group(1)
        if any(a == opt and i + 1 < len(argv) and re.match(r"-[\d.]", argv[i + 1]) for i, a in enumerate(argv)):
            return "UGLY_ERROR", "a negative number after an option is taken for an option ('Missing value'; --opt=-x works)"
    m = re.search(r"unknown [a-z ]*'([^']+)' \(known: ([^)]*)\)", stderr)
    if m and m.group(1) in [k.strip() for k in m.group(2).split(",")]:
        return "UGLY_ERROR", "'%s' is called unknown while the message lists it as known" % m.group(1)
    if case.meta.get("map_missing") and "unknown environment" in stderr.lower():
        return "UGLY_ERROR", "a missing map file is called an unknown environment"
    if case.generator == "checkpoint" and case.meta.get("changed_option"):
        opt = case.meta["changed_option"]
        m = re.search(r"\(([^)]*)differ", stderr) or re.search(r"([a-z, -]+) differ", stderr)
        if m:
            named = [x.strip() for x in re.split(r",|and", m.group(1)) if x.strip()]
            if len(named) > 1:
                return "UGLY_ERROR", "the --resume refusal names settings that did not change (only one option was changed)"
    if case.generator == "checkpoint" and case.meta.get("semantic_change") and "checkpoint" not in stderr.lower():
        return "UGLY_ERROR", "a damaged checkpoint refused without naming the file: %s" % first_message(stderr)
    if argv[1] in ("train", "env", "study") and re.search(r"Usage: rlhf <subcommand>|USAGE: rlhf <subcommand>", stderr):
        return "UGLY_ERROR", "the top-level usage ('Usage: rlhf <subcommand>') after a %s error instead of the subcommand's" % argv[1]
    return "OK", "clean error"


def first_message(stderr):
    lines = [l.strip() for l in stderr.splitlines() if l.strip()]
    for l in lines:
        if l.lower().startswith("error") or "error:" in l.lower():
            return l[:300]
    return (lines[0] if lines else "")[:300]


def signature(category, reason, stderr, case):
    """What makes two findings the same: the category and the message with its specifics removed."""
    text = reason
    m = re.match(r"internal text '([^']*)' in the message", reason)
    if m:   # one finding per leaked internal (the examples show where)
        return "%s | %s | internal text %s" % (category, case.generator, m.group(1))
    text = re.sub(r"'[^']*'", "'…'", text)
    text = re.sub(r"\"[^\"]*\"", "\"…\"", text)
    text = re.sub(r"/[^\s:]*", "PATH", text)
    text = re.sub(r"[-+]?\d+(\.\d+)?(e[-+]?\d+)?", "N", text)
    text = re.sub(r"\s+", " ", text)
    return "%s | %s | %s" % (category, case.generator, text[:160])


# --------------------------------------------------------------------------------------------
# Context: known settings, checkpoint bases


class Context:
    pass


def discover_set_keys(ctx, workdir):
    """The keys `--set` knows, from the message an unknown key gets (nested: KEY.zz)."""
    def known(prefix):
        out = run_process([ctx.binary, "train", "--set", "%szzunknown=1" % prefix, "--queries", "100"], workdir, 30, ctx.memory_limit)
        text = out.stderr.decode("utf-8", "replace")
        m = re.search(r"known(?: settings)?: ([^\n]*)", text)
        if not m:
            return None
        return [k.strip().rstrip(".") for k in m.group(1).split(",") if k.strip()]
    keys = []
    top = known("") or []
    for k in top:
        sub = known(k + ".")
        if sub:
            for s in sub:
                subsub = known("%s.%s." % (k, s)) if k in ("rm-ppo", "rmPPO", "rm_ppo") else None
                if subsub:
                    keys += ["%s.%s.%s" % (k, s, t) for t in subsub]
                else:
                    keys.append("%s.%s" % (k, s))
        else:
            keys.append(k)
    return keys


def norm_key(k):
    return re.sub(r"[-_]", "", k.lower())


def option_help(text):
    """--name -> its help text, from an ArgumentParser help page."""
    helps, current = {}, None
    for line in text.splitlines():
        m = re.match(r"\s{2}(--[a-z-]+)(?: <[^>]*>)?\s*(.*)", line)
        if m:
            current = m.group(1)[2:]
            helps[current] = m.group(2)
        elif current and line.startswith(" " * 10):
            helps[current] += " " + line.strip()
        else:
            current = None
    return helps


def prepare(ctx):
    ctx.train_help = option_help(run_process([ctx.binary, "train", "--help"], ctx.workdir, 30, ctx.memory_limit).stdout.decode("utf-8", "replace"))
    ctx.set_keys = discover_set_keys(ctx, ctx.workdir)
    known = {norm_key(k): k for k in ctx.set_keys}
    ctx.diff_pairs = [(o, known[norm_key(k)]) for o, k in OPTION_TO_SET.items() if norm_key(k) in known]
    ctx.base_checkpoints = {}
    ctx.base_dirs = {}
    if "checkpoint" in ctx.generators:
        for name, args in CHECKPOINT_BASES.items():
            d = os.path.join(ctx.workdir, "base-" + name)
            out = run_process([ctx.binary, "train", "--out", d] + args + ["--threads", "1", "--quiet", "--json"], ctx.workdir, 120, ctx.memory_limit)
            ck = os.path.join(d, "checkpoint.json")
            if out.rc != 0 or not os.path.exists(ck):
                print("fuzz: could not make the %s checkpoint base (exit %s): %s" % (name, out.rc, out.stderr.decode()[-500:]), file=sys.stderr)
                continue
            ctx.base_dirs[name] = d
            ctx.base_checkpoints[name] = open(ck, "rb").read()


def run_case(ctx, case):
    case_dir = tempfile.mkdtemp(prefix="case%d-" % case.index, dir=ctx.workdir)
    try:
        for name, data in case.files.items():
            p = os.path.join(case_dir, name)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
        if case.base:
            if case.base not in ctx.base_dirs:
                return None
            shutil.copytree(ctx.base_dirs[case.base], os.path.join(case_dir, "run"))
            if case.mutate:
                case.mutate(os.path.join(case_dir, "run"))
        case.pre_outcome = None
        if case.pre:
            case.pre_outcome = run_process(expand(case.pre[0], case_dir), case_dir, min(ctx.timeout, 10), ctx.memory_limit)
        case.run_argv = expand(case.argv, case_dir)
        out = run_process(case.run_argv, case_dir, ctx.timeout, ctx.memory_limit)
        category, reason = classify(case, out, case_dir, ctx)
        if category not in ("OK", "SLOW") and ctx.keep_failures:
            dest = os.path.join(ctx.keep_failures, "case-%d" % case.index)
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(case_dir, dest, symlinks=True, ignore=lambda d, names: [n for n in names if n in ("out",)])
            with open(os.path.join(dest, "command.sh"), "w") as f:
                f.write("cd %s && %s\n" % (shlex.quote(dest), shlex.join(expand(case.argv, dest))))
            with open(os.path.join(dest, "stderr.txt"), "wb") as f:
                f.write(out.stderr)
            with open(os.path.join(dest, "stdout.txt"), "wb") as f:
                f.write(out.stdout[:100000])
        return category, reason, out
    finally:
        shutil.rmtree(case_dir, ignore_errors=True)


def display_command(case):
    argv = ["rlhf" if i == 0 else a for i, a in enumerate(case.argv)]
    return shlex.join(argv)


def minimize(ctx, case, sig):
    """Greedy: drop option groups while the finding keeps its signature (train and --set cases)."""
    if case.generator not in ("train", "set") or case.pre:
        return case.argv
    argv = list(case.argv)
    deadline = time.monotonic() + ctx.minimize_seconds
    # Groups: '--opt value', '--opt=value', '--flag'.
    def groups(a):
        gs, i = [], 2
        while i < len(a):
            if a[i].startswith("--") and "=" not in a[i] and i + 1 < len(a) and not (a[i + 1].startswith("--") and len(a[i + 1]) > 2 and a[i + 1][2].isalpha()) \
                    and a[i][2:] not in ("json", "quiet", "exact", "resume"):
                gs.append((i, 2))
                i += 2
            else:
                gs.append((i, 1))
                i += 1
        return gs
    changed = True
    while changed and time.monotonic() < deadline:
        changed = False
        for start, n in reversed(groups(argv)):
            if time.monotonic() >= deadline:
                break
            trial = argv[:start] + argv[start + n:]
            t = Case(case.index, case.generator, trial, files=case.files, base=case.base, checks=case.checks)
            t.meta = case.meta
            r = run_case(ctx, t)
            if r and signature(r[0], r[1], r[2].stderr, t) == sig:
                argv = trial
                changed = True
    return argv


def self_test():
    """The oracle must fail on each kind of bad run: real processes for crash, hang and blow-up,
    synthetic outcomes for the rest. Returns the number of wrong verdicts."""
    ctx = Context()
    ctx.timeout, ctx.memory_limit, ctx.train_help = 2, 200, {"dpo-reference": "initial or previous-round."}
    wrong = 0
    workdir = tempfile.mkdtemp(prefix="rlhf-fuzz-selftest-")

    def check(name, want, argv=None, out=None, rc=0, stdout="", stderr="", generator="train", meta=None, pre=None):
        nonlocal wrong
        case = Case(0, generator, argv or ["rlhf", "train", "--json"])
        case.run_argv, case.meta, case.pre_outcome = case.argv, meta or {}, None
        if pre is not None:
            case.pre, case.pre_outcome = (["rlhf"], "--mistake-rate=2"), pre
        if out is None:
            out = Outcome()
            out.rc, out.stdout, out.stderr = rc, stdout.encode(), stderr.encode()
        got = classify(case, out, workdir, ctx)
        ok = got[0] == want
        wrong += not ok
        print("%s %-44s %-15s %s" % ("ok  " if ok else "FAIL", name, got[0], got[1][:80]))

    py = sys.executable
    check("killed by SIGSEGV", "CRASH", out=run_process(["/bin/sh", "-c", "kill -SEGV $$"], workdir, 5, 200))
    check("Swift trap text", "CRASH", rc=1, stderr="Fatal error: Double value cannot be converted to Int")
    check("busy loop", "HANG", out=run_process([py, "-c", "while True: pass"], workdir, 1, 200))
    check("memory hog", "BLOWUP", out=run_process([py, "-c", "x = bytearray(400 << 20); import time; time.sleep(5)"], workdir, 5, 200))
    check("NaN in --json", "SILENT_FAILURE", stdout='{"final_value": NaN}')
    check("1e999 in --json", "SILENT_FAILURE", stdout='{"final_value": 1e999}')
    check("unparsable --json", "SILENT_FAILURE", stdout="final value 0.5")
    check("-inf in text", "SILENT_FAILURE", argv=["rlhf", "train"], stdout="normalized value  -inf")
    check("more queries than the budget", "SILENT_FAILURE", stdout='{"queries_used": 2001, "budget": 2000}')
    check("normalized with V* = V(uniform)", "SILENT_FAILURE",
          stdout='{"uniform_value": -0.06, "optimal_value": -0.06, "final_value": -0.06, "normalized_value": 0, "exact_values": true}')
    check("help printed for an argument", "SILENT_FAILURE", argv=["rlhf", "env", "-dash.txt"], stdout="USAGE: rlhf env")
    refused = Outcome()
    refused.rc, refused.stderr = 64, b"Error: invalid value for mistake rate: 2.0 is outside [0.0, 1.0]"
    check("--set accepts what the option refuses", "SILENT_FAILURE", stdout='{"budget": 1}', pre=refused)
    check("edited checkpoint accepted", "SILENT_FAILURE", stdout='{"budget": 1}', generator="checkpoint", meta={"semantic_change": True, "mutation": 0})
    check("duplicate run ids", "SILENT_FAILURE", argv=["rlhf", "study", "f", "--dry-run"], generator="study", stdout="a\na\n2 runs")
    check("DecodingError leaked", "UGLY_ERROR", rc=1, stderr="Error: x (DecodingError.dataCorrupted: …)")
    check("empty message", "UGLY_ERROR", rc=1)
    check("help's value refused", "UGLY_ERROR", rc=64, stderr="Error: The value 'previous-round' is invalid for '--dpo-reference <r>'")
    slow = Outcome()
    slow.timed_out = True
    check("timeout with a huge --queries", "SLOW", out=slow, meta={"heavy": ["queries"]})
    check("timeout without a large size", "HANG", out=slow)
    check("clean error", "OK", rc=64, stderr="Error: --evaluators must be at least 1 (got 0)")
    check("clean success", "OK", stdout='{"queries_used": 2000, "budget": 2000, "uniform_value": -0.6, "optimal_value": 0.8, '
          '"final_value": 0.5, "normalized_value": 0.7857142857142857, "exact_values": true}')
    shutil.rmtree(workdir, ignore_errors=True)
    print("self-test: %s" % ("passed" if not wrong else "%d wrong verdict(s)" % wrong))
    return 1 if wrong else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=".build/release/rlhf", help="the rlhf binary (default: .build/release/rlhf)")
    ap.add_argument("--cases", type=int, default=400, help="number of generated cases (default 400)")
    ap.add_argument("--start", type=int, default=0, help="index of the first case (default 0), to run in chunks")
    ap.add_argument("--seed", type=int, default=1, help="the generator seed (default 1)")
    ap.add_argument("--case", type=int, action="append", help="run only case K (repeatable) and print its output")
    ap.add_argument("--timeout", type=float, default=20, help="CPU seconds a case may take (default 20; 3× that in wall time)")
    ap.add_argument("--memory-limit", type=int, default=2048, help="MB of resident memory a case may use (default 2048)")
    ap.add_argument("--keep-failures", metavar="DIR", help="copy each failing case's files and command here")
    ap.add_argument("--generators", default=",".join(GENERATORS), help="comma-separated subset of %s" % ",".join(GENERATORS))
    ap.add_argument("--jobs", type=int, default=1, help="cases at once (default 1)")
    ap.add_argument("--strict", action="store_true", help="fail on UGLY_ERROR too")
    ap.add_argument("--minimize", action="store_true", help="shrink the option list of each new finding (train, set)")
    ap.add_argument("--minimize-seconds", type=float, default=60, help="time to spend shrinking one finding (default 60)")
    ap.add_argument("--report", metavar="FILE", help="write every non-OK case (and the totals) as JSON lines here")
    ap.add_argument("--list", action="store_true", help="print the generated commands without running them")
    ap.add_argument("--self-test", action="store_true", help="check that the oracle flags each kind of bad run, then exit")
    args = ap.parse_args()
    if args.self_test:
        return self_test()

    ctx = Context()
    ctx.binary = os.path.abspath(args.binary)
    if not os.access(ctx.binary, os.X_OK):
        sys.exit("fuzz: %s is not an executable (build it: swift build -c release)" % args.binary)
    ctx.seed, ctx.timeout, ctx.memory_limit = args.seed, args.timeout, args.memory_limit
    ctx.generators = [g.strip() for g in args.generators.split(",") if g.strip()]
    unknown = [g for g in ctx.generators if g not in GENERATORS]
    if unknown:
        sys.exit("fuzz: unknown generator(s) %s; known: %s" % (", ".join(unknown), ", ".join(GENERATORS)))
    ctx.keep_failures = os.path.abspath(args.keep_failures) if args.keep_failures else None
    ctx.minimize_seconds = args.minimize_seconds
    if ctx.keep_failures:
        os.makedirs(ctx.keep_failures, exist_ok=True)
    ctx.workdir = tempfile.mkdtemp(prefix="rlhf-fuzz-")
    try:
        return fuzz(ctx, args)
    finally:
        shutil.rmtree(ctx.workdir, ignore_errors=True)


def fuzz(ctx, args):
    started = time.monotonic()
    prepare(ctx)
    print("fuzz: seed %d, %d --set keys known, %d option/--set pairs compared, checkpoint bases: %s"
          % (ctx.seed, len(ctx.set_keys), len(ctx.diff_pairs), ", ".join(sorted(ctx.base_dirs)) or "none"), flush=True)
    indices = args.case if args.case else range(args.start, args.start + args.cases)
    if args.list:
        for k in indices:
            c = make_case(ctx, k)
            print("%6d %-10s %s   # %s" % (k, c.generator, display_command(c), c.note))
        return 0
    counts = {g: {c: 0 for c in CATEGORIES} for g in GENERATORS}
    findings = {}      # signature -> dict
    worst = (0, None)
    lock = threading.Lock()
    report = open(args.report, "a") if args.report else None
    done = [0]
    skipped = []

    def one(k):
        try:
            one_case(k)
        except Exception:   # a bug of the fuzzer: say so, and go on with the other cases
            import traceback
            print("fuzz: case %d could not be run:\n%s" % (k, traceback.format_exc()), file=sys.stderr, flush=True)
            with lock:
                skipped.append(k)

    def one_case(k):
        case = make_case(ctx, k)
        r = run_case(ctx, case)
        if r is None:
            return
        category, reason, out = r
        if args.case:
            print("case %d (%s): %s\n  %s\n  exit %s, %.2f s, peak %d MB\n  -> %s: %s" % (
                k, case.generator, case.note, display_command(case), out.rc, out.seconds, out.peak_kb // 1024, category, reason))
            if case.pre:
                print("  differential pre-run %s: exit %s %s" % (case.pre[1], case.pre_outcome.rc, first_message(case.pre_outcome.stderr.decode("utf-8", "replace"))))
            print("--- stdout\n%s\n--- stderr\n%s" % (out.stdout.decode("utf-8", "replace")[:4000], out.stderr.decode("utf-8", "replace")[:4000]))
        sig = signature(category, reason, out.stderr, case) if category not in ("OK", "SLOW") else None
        with lock:
            counts[case.generator][category] += 1
            done[0] += 1
            if out.peak_kb > worst[0]:
                worst_case = (out.peak_kb, k, case.generator, display_command(case), category)
                worst_update(worst_case)
            do_min = False
            if sig is not None:
                f = findings.setdefault(sig, {"category": category, "generator": case.generator, "reason": reason,
                                              "count": 0, "cases": [], "command": display_command(case),
                                              "note": case.note, "message": first_message(out.stderr.decode("utf-8", "replace"))})
                f["count"] += 1
                if len(f["cases"]) < 5:
                    f["cases"].append(k)
                if len(display_command(case)) < len(f["command"]):
                    f["command"], f["note"] = display_command(case), case.note
                f.setdefault("minimized", [])
                if args.minimize and case.generator in ("train", "set") and not case.pre and f.setdefault("tries", 0) < 4:
                    f["tries"] += 1
                    do_min = True
            if report and category != "OK":
                report.write(json.dumps({"case": k, "generator": case.generator, "category": category, "reason": reason,
                                         "command": display_command(case), "note": case.note, "peak_mb": out.peak_kb // 1024,
                                         "seconds": round(out.seconds, 2), "stderr": out.stderr.decode("utf-8", "replace")[-600:]}) + "\n")
                report.flush()
            if done[0] % 100 == 0 and not args.case:
                print("fuzz: %d/%d cases, %d findings, %.0f s" % (done[0], len(indices), len(findings), time.monotonic() - started), flush=True)
        if do_min:
            small = shlex.join(["rlhf"] + minimize(ctx, case, sig)[1:])
            with lock:
                if small not in findings[sig]["minimized"]:
                    findings[sig]["minimized"].append(small)

    def worst_update(w):
        nonlocal worst
        worst = w

    if args.jobs > 1:
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(one, indices))
    else:
        for k in indices:
            one(k)

    total = {c: sum(counts[g][c] for g in GENERATORS) for c in CATEGORIES}
    n = sum(total.values())
    print("\nfuzz: %d cases, seed %d, cases %s, %.0f s" % (n, ctx.seed, ("%d…%d" % (min(indices), max(indices))) if n else "-", time.monotonic() - started))
    print("%-12s %6s" % ("generator", "cases") + "".join("%16s" % c for c in CATEGORIES))
    for g in GENERATORS:
        row = counts[g]
        if sum(row.values()):
            print("%-12s %6d" % (g, sum(row.values())) + "".join("%16d" % row[c] for c in CATEGORIES))
    print("%-12s %6d" % ("total", n) + "".join("%16d" % total[c] for c in CATEGORIES))
    if skipped:
        print("fuzz: %d case(s) could not be run (a bug of the fuzzer): %s" % (len(skipped), ",".join(map(str, sorted(skipped)))))
    if worst[1] is not None:
        print("worst peak RSS: %d MB, case %d (%s, %s): %s" % (worst[0] // 1024, worst[1], worst[2], worst[4], worst[3]))
    if findings:
        print("\ndistinct findings (%d):" % len(findings))
        order = {c: i for i, c in enumerate(CATEGORIES)}
        for sig, f in sorted(findings.items(), key=lambda kv: (order[kv[1]["category"]], kv[0])):
            print("- %s [%s] ×%d (cases %s): %s\n    %s\n    %s" % (f["category"], f["generator"], f["count"],
                  ",".join(map(str, f["cases"])), f["reason"], f["command"], f["note"]))
            for m in f.get("minimized", []):
                print("    minimized: %s" % m)
            if f["message"] and f["message"] not in f["reason"]:
                print("    stderr: %s" % f["message"])
    if report:
        report.write(json.dumps({"totals": total, "by_generator": counts, "worst_peak_mb": worst[0] // 1024, "worst_case": worst[1],
                                 "seed": ctx.seed, "cases": n, "findings": list(findings.values())}) + "\n")
        report.close()
    failed = sum(total[c] for c in FATAL) + (total["UGLY_ERROR"] if args.strict else 0) + len(skipped)
    if not args.case:
        print("\nfuzz: %s (rerun one case: python3 %s --binary %s --seed %d --case K)" % (
            "FAILED" if failed else "passed", sys.argv[0], args.binary, ctx.seed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
