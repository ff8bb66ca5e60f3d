"""Gymnasium worker of the Swift toolkit: serves Gymnasium environments over stdin/stdout.

Run as `python3 -u -c <this source>`. The worker holds a growing list of environments
("slots"), all made by `gymnasium.make(id, **kwargs)` with the same id and kwargs. Anything an
environment prints goes to stderr: stdout carries only the protocol. Warnings go to stderr.

Handshake: the request is one line of UTF-8 JSON ending in "\\n":
    {"protocol": 1, "id": "CartPole-v1", "kwargs": {...}}            ("kwargs" is optional)
The worker imports Gymnasium, makes slot 0 and answers one line of strict JSON (no NaN/Infinity):
    {"ok": true, "protocol": 1, "gymnasium": "1.4.0", "numpy": "2.4.6", "python": "3.11.7",
     "id": env.spec.id, "max_episode_steps": 500 | null, "reward_threshold": 475.0 | null,
     "observation": SPACE, "action": SPACE}
    SPACE = {"kind": "discrete", "n": N, "start": START}
          | {"kind": "box", "shape": [...], "size": PRODUCT, "low": [...], "high": [...]}
    (low/high flattened, as floats; an infinite or NaN bound is written as null: unbounded)
or {"ok": false, "kind": KIND, "message": "..."} and exit status 2, KIND one of
    gymnasium-missing   gymnasium or numpy cannot be imported
    dependency-missing  the environment needs a package that is not installed (e.g. mujoco)
    unknown-environment Gymnasium does not know the id (its own message)
    unsupported-space   a space is neither Discrete nor Box
    make-failed         any other exception of gymnasium.make ("TypeError: ...")
    bad-request         the line is not JSON, the protocol is not 1, or the id is missing

Frames, after the handshake; all little-endian. A request is a 5-byte header, opcode (1 ASCII
byte) and k (uint32, the number of rows), then its rows:
    R reset: k x (uint32 slot, uint64 seed), 12-byte records. Row by row, in order: slots up to
             `slot` are made if missing, then envs[slot].reset(seed=seed).
             Reply: status 0, k x obs_size float64 observations.
    S step:  k x uint32 slots, then k x int64 action indices 0..<n (Discrete; the worker adds
             `start`) or k x action_size float64 (Box, row-major; cast to the space's dtype).
             Row by row, in order: envs[slot].step(action). No autoreset.
             Reply: status 0, k x obs_size float64 observations, k float64 rewards,
             k uint8 terminated, k uint8 truncated.
    Q quit:  k = 0. No reply; the environments are closed and the worker exits 0.
Observations: a Box one is flattened to float64 (obs_size = its size); a Discrete one is one
float64 holding the index minus `start`.
Errors (a slot stepped before its first reset, a slot above 1,000,000, an unknown opcode, an
exception in reset or step): reply status 1, uint32 n, n bytes of UTF-8 message, then exit 4.
(e.g. "step of slot 3 at its step 17: ValueError: ...", steps counted from 1 after each reset.)
End of input at a frame boundary: exit 0. End of input inside a frame: exit 3.
Each reply is written with one write and flushed.
"""
import json
import math
import os
import platform
import struct
import sys

# The protocol owns file descriptor 1; everything else written to stdout, by Python code or by
# C libraries, goes to stderr.
out = sys.stdout.buffer
inp = sys.stdin.buffer
sys.stdout = sys.stderr
try:
    out = os.fdopen(os.dup(1), "wb")   # buffered: write() writes everything
    os.dup2(2, 1)
except OSError:
    pass

MAX_SLOT = 1_000_000
HEADER = struct.Struct("<cI")
STATUS_ERROR = struct.Struct("<BI")


def answer(obj):
    out.write(json.dumps(obj, allow_nan=False).encode() + b"\n")
    out.flush()


def refuse(kind, message):
    answer({"ok": False, "kind": kind, "message": message})
    sys.exit(2)


def pip_hint(extra="mujoco"):
    return f'install it with: {sys.executable} -m pip install "gymnasium[{extra}]"'


def read_exact(n, boundary=False):
    """n bytes of input; at end of input exit 0 if nothing was read of a frame yet, else 3."""
    data = inp.read(n)
    if len(data) == n:
        return data
    chunks = [data]
    got = len(data)
    while got < n:
        more = inp.read(n - got)
        if not more:
            sys.exit(0 if boundary and got == 0 else 3)
        chunks.append(more)
        got += len(more)
    return b"".join(chunks)


def handshake():
    line = inp.readline()
    if not line:
        sys.exit(0)
    try:
        request = json.loads(line)
    except ValueError as e:
        refuse("bad-request", f"the handshake is not JSON: {e}")
    if not isinstance(request, dict) or request.get("protocol") != 1:
        refuse("bad-request", "the handshake must be a JSON object with \"protocol\": 1")
    env_id, kwargs = request.get("id"), request.get("kwargs") or {}
    if not isinstance(env_id, str) or not env_id:
        refuse("bad-request", "the handshake has no environment \"id\"")
    if not isinstance(kwargs, dict):
        refuse("bad-request", "\"kwargs\" must be a JSON object")
    return env_id, kwargs


env_id, kwargs = handshake()
try:
    import numpy as np
    import gymnasium
    from gymnasium import spaces
except ImportError as e:
    refuse("gymnasium-missing", f"{type(e).__name__}: {e}; {pip_hint()}")


def make():
    return gymnasium.make(env_id, **kwargs)


def describe(space, side):
    if isinstance(space, spaces.Discrete):
        return {"kind": "discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.Box):
        def bounds(a):
            return [x if math.isfinite(x) else None for x in map(float, a.ravel())]
        return {"kind": "box", "shape": list(space.shape), "size": int(math.prod(space.shape)),
                "low": bounds(space.low), "high": bounds(space.high)}
    refuse("unsupported-space",
           f"the {side} space is {space}; the toolkit supports Discrete and Box")


try:
    envs = [make()]
except gymnasium.error.DependencyNotInstalled as e:
    entry = str(getattr(gymnasium.registry.get(env_id), "entry_point", ""))
    refuse("dependency-missing", f"{e}; {pip_hint('box2d' if 'box2d' in entry else 'mujoco')}")
except gymnasium.error.UnregisteredEnv as e:   # NameNotFound, VersionNotFound, NamespaceNotFound
    refuse("unknown-environment", str(e))
except gymnasium.error.DeprecatedEnv as e:
    refuse("unknown-environment", str(e))
except ImportError as e:
    refuse("dependency-missing", f"{type(e).__name__}: {e}; install it into {sys.executable}")
except Exception as e:
    refuse("make-failed", f"{type(e).__name__}: {e}")

env0 = envs[0]
obs_space, act_space = env0.observation_space, env0.action_space
observation, action = describe(obs_space, "observation"), describe(act_space, "action")
spec = env0.spec
answer({"ok": True, "protocol": 1, "gymnasium": gymnasium.__version__, "numpy": np.__version__,
        "python": platform.python_version(), "id": spec.id if spec else env_id,
        "max_episode_steps": spec.max_episode_steps if spec else None,
        "reward_threshold": spec.reward_threshold if spec else None,
        "observation": observation, "action": action})

obs_discrete = observation["kind"] == "discrete"
obs_shape = () if obs_discrete else tuple(obs_space.shape)   # k rows of it: row-major float64
obs_start = observation["start"] if obs_discrete else 0
act_discrete = action["kind"] == "discrete"
act_start = action["start"] if act_discrete else 0
act_shape = tuple(act_space.shape) if not act_discrete else ()
act_size = 1 if act_discrete else action["size"]
act_dtype = act_space.dtype
reset_rows = np.dtype([("slot", "<u4"), ("seed", "<u8")])   # packed: 12 bytes
steps = [None]   # per slot: steps since its last reset, None before the first


class Failure(Exception):
    pass


def reset(k):
    rows = np.frombuffer(read_exact(12 * k), dtype=reset_rows)
    obs_out = np.empty((k,) + obs_shape, dtype="<f8")
    for i, (slot, seed) in enumerate(rows.tolist()):
        if slot > MAX_SLOT:
            raise Failure(f"reset of slot {slot}: the largest slot is {MAX_SLOT}")
        while len(envs) <= slot:
            try:
                envs.append(make())
            except Exception as e:
                raise Failure(f"making slot {len(envs)}: {type(e).__name__}: {e}")
            steps.append(None)
        try:
            obs, _ = envs[slot].reset(seed=seed)
            obs_out[i] = int(obs) - obs_start if obs_discrete else obs
        except Exception as e:
            raise Failure(f"reset of slot {slot} (seed {seed}): {type(e).__name__}: {e}")
        steps[slot] = 0
    return b"\x00" + obs_out.tobytes()


def step(k):
    body = read_exact(4 * k + 8 * act_size * k)
    slots = np.frombuffer(body, dtype="<u4", count=k).tolist()
    if act_discrete:
        actions = (np.frombuffer(body, dtype="<i8", count=k, offset=4 * k) + act_start).tolist()
    else:
        actions = np.frombuffer(body, dtype="<f8", offset=4 * k).reshape((k,) + act_shape)
        actions = actions.astype(act_dtype)
    obs_out = np.empty((k,) + obs_shape, dtype="<f8")
    rewards = np.empty(k, dtype="<f8")
    terminated = np.empty(k, dtype=np.uint8)
    truncated = np.empty(k, dtype=np.uint8)
    for i, slot in enumerate(slots):
        if slot > MAX_SLOT:
            raise Failure(f"step of slot {slot}: the largest slot is {MAX_SLOT}")
        if slot >= len(steps) or steps[slot] is None:
            raise Failure(f"step of slot {slot} before its first reset")
        steps[slot] += 1
        try:
            obs, reward, term, trunc, _ = envs[slot].step(actions[i])
            obs_out[i] = int(obs) - obs_start if obs_discrete else obs
            rewards[i] = reward
        except Exception as e:
            raise Failure(f"step of slot {slot} at its step {steps[slot]}: "
                          f"{type(e).__name__}: {e}")
        terminated[i] = bool(term)
        truncated[i] = bool(trunc)
    return b"".join((b"\x00", obs_out.tobytes(), rewards.tobytes(),
                     terminated.tobytes(), truncated.tobytes()))


def serve():
    while True:
        opcode, k = HEADER.unpack(read_exact(HEADER.size, boundary=True))
        try:
            if opcode == b"S":
                reply = step(k)
            elif opcode == b"R":
                reply = reset(k)
            elif opcode == b"Q":
                for env in envs:
                    try:
                        env.close()
                    except Exception:
                        pass
                sys.exit(0)
            else:
                raise Failure(f"unknown opcode {opcode!r} (k = {k})")
        except Failure as e:
            message = str(e).encode("utf-8", "replace")
            out.write(STATUS_ERROR.pack(1, len(message)) + message)
            out.flush()
            sys.exit(4)
        out.write(reply)
        out.flush()


serve()
