#!/usr/bin/env python3
"""Gymnasium's own loops, to compare the Swift toolkit's Gymnasium bridge against.

    python3 Sources/RLHFGym/gym_reference.py random-returns --env CartPole-v1 --episodes 1000 --seed 0
    python3 Sources/RLHFGym/gym_reference.py vector-throughput --env Hopper-v5 --num-envs 8 --steps 2000
    python3 Sources/RLHFGym/gym_reference.py worker-throughput --env Hopper-v5 --num-envs 8 --steps 2000
    python3 Sources/RLHFGym/gym_reference.py self-test

Each prints one JSON object on stdout.

random-returns runs the random policy in one plain `gymnasium.make` environment with the
toolkit's generator, bit for bit: episode e draws from Xoshiro256(seed: S, stream: [e / 256,
e % 256]); it resets with seed `next() >> 1`, then draws each action (Discrete: index(below: n)
+ start; Box: low[i] + (high[i] - low[i]) * uniform() per flattened dimension, float64, then
cast to the space's dtype exactly as gym_worker.py casts) until terminated or truncated. The
return is the float64 sum of the rewards in order; mean and standard error are Welford's.

vector-throughput times `gymnasium.make_vec(..., vectorization_mode="sync")` stepping with
numpy-drawn actions; worker-throughput times Sources/RLHFGym/gym_worker.py doing the same work
over its binary protocol (lock-step frames, the finished slots reset by one frame).
self-test checks the generator against reference values and prints values for the Swift side.
"""
import argparse
import json
import math
import struct
import subprocess
import sys
import time
from pathlib import Path

MASK = 0xFFFFFFFFFFFFFFFF
try:
    WORKER = Path(__file__).resolve().parent / "gym_worker.py"
except NameError:   # run as `python3 -c <source>` (rlhf bench embeds this file)
    WORKER = Path("gym_worker.py")


# --- The toolkit's generator (Sources/RLHF/Random), arithmetic mod 2^64 ---------------------

def mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        return mix(self.state)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK


class Xoshiro256:
    """Xoshiro256**; Xoshiro256(seed) or Xoshiro256(seed, stream=[c0, c1, ...])."""

    def __init__(self, seed, stream=None):
        seed &= MASK
        if stream is not None:
            h = mix(seed ^ 0x5851F42D4C957F2D)
            for c in stream:
                h = mix(h ^ mix((c + 0x9E3779B97F4A7C15) & MASK))
            seed = h
        sm = SplitMix64(seed)
        self.s = [sm.next(), sm.next(), sm.next(), sm.next()]
        if not any(self.s):
            self.s[0] = 1

    def next(self):
        s0, s1, s2, s3 = self.s
        result = (rotl((s1 * 5) & MASK, 7) * 9) & MASK
        t = (s1 << 17) & MASK
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        self.s = [s0, s1, s2, rotl(s3, 45)]
        return result

    def uniform(self):
        return float(self.next() >> 11) * 2.0 ** -53

    def index(self, bound):
        """Uniform in 0..<bound, Lemire's method as in Xoshiro256+Sampling.swift."""
        m = self.next() * bound
        if (m & MASK) < bound:
            threshold = ((1 << 64) - bound) % bound
            while (m & MASK) < threshold:
                m = self.next() * bound
        return m >> 64


class Welford:
    def __init__(self):
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def add(self, x):
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (x - self.mean)

    @property
    def standard_error(self):
        return math.sqrt(self.m2 / (self.n - 1) / self.n) if self.n > 1 else 0.0


# --- Subcommands ----------------------------------------------------------------------------

def random_returns(args):
    import gymnasium
    import numpy as np
    from gymnasium import spaces
    env = gymnasium.make(args.env, **args.kwargs)
    space = env.action_space
    if isinstance(space, spaces.Box):
        low = [float(x) for x in space.low.ravel()]
        high = [float(x) for x in space.high.ravel()]
        if not all(map(math.isfinite, low + high)):
            sys.exit("the random policy needs a bounded Box action space")
    elif not isinstance(space, spaces.Discrete):
        sys.exit(f"the action space is {space}; the toolkit supports Discrete and Box")
    returns, steps, moments = [], [], Welford()
    for e in range(args.episodes):
        g = Xoshiro256(args.seed, stream=[e // 256, e % 256])
        env.reset(seed=g.next() >> 1)
        ret, n = 0.0, 0
        while True:
            if isinstance(space, spaces.Discrete):
                action = g.index(int(space.n)) + int(space.start)
            else:
                row = [lo + (hi - lo) * g.uniform() for lo, hi in zip(low, high)]
                action = np.array(row, dtype=np.float64).reshape(space.shape).astype(space.dtype)
            _, reward, terminated, truncated, _ = env.step(action)
            ret += float(reward)
            n += 1
            if terminated or truncated:
                break
        returns.append(ret)
        steps.append(n)
        moments.add(ret)
    env.close()
    return {"env": args.env, "episodes": args.episodes, "seed": args.seed, "returns": returns,
            "steps": steps, "mean": moments.mean, "standard_error": moments.standard_error}


def action_sampler(space, batch, rng, for_worker):
    """Draws a batch of actions with numpy: what the worker (int64 / float64) or Gymnasium takes."""
    import numpy as np
    from gymnasium import spaces
    if isinstance(space, spaces.Discrete):
        start = 0 if for_worker else int(space.start)
        return lambda: rng.integers(int(space.n), size=batch, dtype=np.int64) + start
    low, high = space.low.astype(np.float64), space.high.astype(np.float64)
    if for_worker:
        return lambda: rng.uniform(low.ravel(), high.ravel(), size=(batch, low.size))
    return lambda: rng.uniform(low, high, size=(batch,) + space.shape).astype(space.dtype)


def throughput(args, seconds):
    return {"env": args.env, "num_envs": args.num_envs, "steps": args.num_envs * args.steps,
            "seconds": seconds, "steps_per_second": args.num_envs * args.steps / seconds}


def vector_throughput(args):
    import gymnasium
    import numpy as np
    envs = gymnasium.make_vec(args.env, num_envs=args.num_envs, vectorization_mode="sync",
                              **args.kwargs)
    rng = np.random.default_rng(args.seed)
    draw = action_sampler(envs.single_action_space, args.num_envs, rng, for_worker=False)
    envs.reset(seed=args.seed)
    for _ in range(args.warmup):
        envs.step(draw())
    start = time.perf_counter()
    for _ in range(args.steps):
        envs.step(draw())
    seconds = time.perf_counter() - start
    envs.close()
    return throughput(args, seconds)


class WorkerError(Exception):
    pass


class Worker:
    """A client of gym_worker.py (the protocol is documented at the top of that file)."""

    def __init__(self, env_id, kwargs=None, path=WORKER, python=sys.executable):
        self.process = subprocess.Popen([python, "-u", "-c", Path(path).read_text()],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.send(json.dumps({"protocol": 1, "id": env_id, "kwargs": kwargs or {}}).encode() + b"\n")
        line = self.process.stdout.readline()
        if not line:
            raise WorkerError(f"the worker exited ({self.process.wait()}) without a handshake")
        self.info = json.loads(line)
        if not self.info["ok"]:
            self.process.wait()
            raise WorkerError(f"{self.info['kind']}: {self.info['message']}")
        obs, act = self.info["observation"], self.info["action"]
        self.obs_size = 1 if obs["kind"] == "discrete" else obs["size"]
        self.discrete = act["kind"] == "discrete"

    def send(self, data):
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def read(self, n):
        data = self.process.stdout.read(n)
        if len(data) != n:
            raise WorkerError(f"short reply ({len(data)} of {n} bytes), exit {self.process.wait()}")
        return data

    def reply(self, n):
        if self.read(1) != b"\x00":
            (length,) = struct.unpack("<I", self.read(4))
            message = self.read(length).decode()
            raise WorkerError(f"{message} (exit {self.process.wait()})")
        return self.read(n)

    def reset(self, slots, seeds):
        import numpy as np
        rows = np.empty(len(slots), dtype=[("slot", "<u4"), ("seed", "<u8")])
        rows["slot"], rows["seed"] = slots, seeds
        self.send(struct.pack("<cI", b"R", len(slots)) + rows.tobytes())
        k = len(slots)
        return np.frombuffer(self.reply(8 * k * self.obs_size), "<f8").reshape(k, self.obs_size)

    def step(self, slots, actions):
        import numpy as np
        k = len(slots)
        actions = np.ascontiguousarray(actions, dtype="<i8" if self.discrete else "<f8")
        self.send(b"".join((struct.pack("<cI", b"S", k),
                            np.asarray(slots, dtype="<u4").tobytes(), actions.tobytes())))
        body = self.reply(k * (8 * self.obs_size + 10))
        obs = np.frombuffer(body, "<f8", k * self.obs_size).reshape(k, self.obs_size)
        rewards = np.frombuffer(body, "<f8", k, offset=8 * k * self.obs_size)
        flags = np.frombuffer(body, np.uint8, 2 * k, offset=8 * k * (self.obs_size + 1))
        return obs, rewards, flags[:k].astype(bool), flags[k:].astype(bool)

    def quit(self):
        self.send(struct.pack("<cI", b"Q", 0))
        self.process.stdin.close()
        return self.process.wait()


def worker_throughput(args):
    import gymnasium
    import numpy as np
    worker = Worker(args.env, args.kwargs, path=args.worker)
    space = gymnasium.make(args.env, **args.kwargs).action_space
    rng = np.random.default_rng(args.seed)
    draw = action_sampler(space, args.num_envs, rng, for_worker=True)
    slots = np.arange(args.num_envs, dtype=np.uint32)
    worker.reset(slots, rng.integers(1 << 63, size=args.num_envs, dtype=np.uint64))

    def run(frames):
        for _ in range(frames):
            _, _, terminated, truncated = worker.step(slots, draw())
            done = slots[terminated | truncated]
            if len(done):
                worker.reset(done, rng.integers(1 << 63, size=len(done), dtype=np.uint64))

    run(args.warmup)
    start = time.perf_counter()
    run(args.steps)
    seconds = time.perf_counter() - start
    if worker.quit() != 0:
        sys.exit("the worker did not exit cleanly")
    return throughput(args, seconds)


def self_test(args):
    failures = []

    def check(name, got, want):
        if got != want:
            failures.append(f"{name}: got {got}, want {want}")

    g = Xoshiro256(0)
    g.s = [1, 2, 3, 4]   # the reference C implementation's outputs for this state
    check("xoshiro256** state (1,2,3,4)", [g.next() for _ in range(4)],
          [11520, 0, 1509978240, 1215971899390074240])
    sm = SplitMix64(1234567)
    check("splitmix64 seed 1234567", [sm.next(), sm.next()],
          [6457827717110365317, 3203168211198807973])
    check("splitmix64 seed 0", SplitMix64(0).next(), 0xE220A8397B1DCDAF)
    check("stream [] = Xoshiro256(mix(seed ^ 0x5851F42D4C957F2D))",
          Xoshiro256(5, stream=[]).s, Xoshiro256(mix(5 ^ 0x5851F42D4C957F2D)).s)

    # Lemire's method against the plain definition: floor(x * b / 2^64), skipping rejected draws.
    g, h = Xoshiro256(9, stream=[1]), Xoshiro256(9, stream=[1])
    for b in [1, 2, 3, 7, 10, 1000, (1 << 63) + 1, MASK]:
        for _ in range(200):
            got = g.index(b)
            threshold = ((1 << 64) - b) % b
            while True:
                m = h.next() * b
                if (m & MASK) >= threshold:
                    break
            check(f"index(below: {b}) in range", 0 <= got < b, True)
            check(f"index(below: {b}) definition", got, m >> 64)

    # Statistics: 10^5 uniforms have mean 1/2 within 4 SE; index(below: 3) is uniform.
    n = 100_000
    g, moments = Xoshiro256(1), Welford()
    for _ in range(n):
        u = g.uniform()
        if not 0.0 <= u < 1.0:
            failures.append(f"uniform out of [0, 1): {u}")
        moments.add(u)
    check("uniform mean within 4 SE", abs(moments.mean - 0.5) < 4 * moments.standard_error, True)
    check("uniform variance near 1/12", abs(moments.m2 / (n - 1) - 1 / 12) < 0.002, True)
    counts = [0, 0, 0]
    for _ in range(30_000):
        counts[g.index(3)] += 1
    se = math.sqrt(30_000 * (1 / 3) * (2 / 3))
    check("index(below: 3) counts within 4 SE", all(abs(c - 10_000) < 4 * se for c in counts), True)

    g = Xoshiro256(1, stream=[0, 0])
    values = {"Xoshiro256(seed: 1, stream: [0, 0]).next() x3": [f"0x{g.next():016X}" for _ in range(3)]}
    g = Xoshiro256(0, stream=[0, 0])
    values["Xoshiro256(seed: 0, stream: [0, 0]): next() >> 1, uniform(), index(below: 2) x3"] = [
        g.next() >> 1, g.uniform(), g.index(2), g.index(2), g.index(2)]
    g = Xoshiro256(42, stream=[1, 44])   # episode 300 of seed 42
    values["Xoshiro256(seed: 42, stream: [1, 44]).next() >> 1"] = g.next() >> 1
    return {"ok": not failures, "failures": failures, "uniform_mean": moments.mean,
            "uniform_standard_error": moments.standard_error, "index3_counts": counts,
            "values": values}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name, func, env=True, seed=True):
        p = commands.add_parser(name)
        p.set_defaults(func=func)
        if env:
            p.add_argument("--env", required=True, help="Gymnasium id, e.g. CartPole-v1")
            p.add_argument("--kwargs", type=json.loads, default={}, help="make kwargs (JSON)")
        if seed:
            p.add_argument("--seed", type=int, default=0)
        return p

    p = command("random-returns", random_returns)
    p.add_argument("--episodes", type=int, required=True)
    for name, func in [("vector-throughput", vector_throughput), ("worker-throughput", worker_throughput)]:
        p = command(name, func)
        p.add_argument("--num-envs", type=int, required=True)
        p.add_argument("--steps", type=int, required=True)
        p.add_argument("--warmup", type=int, default=100, help="untimed steps first (100)")
        if name == "worker-throughput":
            p.add_argument("--worker", default=str(WORKER), help="path of gym_worker.py")
    command("self-test", self_test, env=False, seed=False)
    args = parser.parse_args()
    result = args.func(args)
    print(json.dumps(result))
    if result.get("ok") is False:
        sys.exit(1)


if __name__ == "__main__":
    main()
