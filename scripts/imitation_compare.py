#!/usr/bin/env python3
"""Python peer for `rlhf`'s RM + PPO on Pendulum-v1: the `imitation` library's preference
comparisons (imitation.algorithms.preference_comparisons.PreferenceComparisons) with a
Stable-Baselines3 PPO agent.

What it measures, per seed: the true mean return of the final PPO agent over `--eval-episodes`
episodes of a fresh environment (Gymnasium's own reward, not the learned one), its standard
error (sample std, ddof = 1, over √n), and the wall time (time.perf_counter) of the pipeline's
`train` call and of the whole seed (setup + train + evaluation). It also evaluates a uniformly
random policy under the same protocol, for normalization.

The setup follows imitation's tutorial "Learning a Reward Function using Preference Comparisons"
(docs/tutorials/5_train_preference_comparisons.ipynb), with the budget of `rlhf`'s run:

* reward net: BasicRewardNet(obs, act) with a RunningNorm input layer (the tutorial's);
* fragmenter: RandomFragmenter(warning_threshold=0); segments of `--segment-length` steps;
* labels: SyntheticGatherer with its defaults (temperature 1, discount 1, sample=True,
  threshold 50): one simulated evaluator, Bradley-Terry on the segments' true returns, each of
  the `--queries` pairs labelled once;
* PreferenceModel(reward_net); BasicRewardTrainer(CrossEntropyRewardLoss, epochs=3, batch 32,
  lr 1e-3) and initial_epoch_multiplier=4, exploration_frac=0.05 (all the tutorial's);
* schedule: num_iterations=20 (imitation gathers an initial round and then 20 more, the same
  21 rounds as `rlhf`), initial_comparison_frac=0.1, query_schedule="hyperbolic";
* agent: SB3 PPO with rl-zoo's Pendulum-v1 hyperparameters — MlpPolicy, n_envs 4,
  n_steps 1024 (4096 steps an update), batch_size 64 (SB3's default, which rl-zoo keeps),
  n_epochs 10, gamma 0.9, gae_lambda 0.95, ent_coef 0.0, learning_rate 1e-3, clip_range 0.2,
  use_sde True, sde_sample_freq 4 — trained for `--agent-steps` steps (default 409,600 =
  100 updates, `rlhf`'s continuous agent budget).

One deviation from stock imitation, on by default: PreferenceComparisons.train splits
total_timesteps into num_iterations shares but trains the agent in all num_iterations + 1 rounds,
and SB3 rounds each share up to whole 4096-step rollouts, so 409,600 steps would become 105
updates (430,080 steps). `--budget-split exact` (default) instead gives the 21 rounds the update
counts `rlhf` gives them — even shares of the 100 updates, the remainder to the earliest rounds —
so the agent makes exactly agent-steps / 4096 updates; `--budget-split imitation` keeps the
stock behaviour. Either way the JSON records the steps the agent actually took.

Evaluation uses SB3's evaluate_policy (as the tutorial does) on a fresh imitation make_vec_env
(1 env, seeded apart from training). The primary figure is the stochastic policy
(deterministic=False, as `rlhf` evaluates its stochastic policy); since the policy uses gSDE, its
exploration noise is resampled every sde_sample_freq steps during evaluation, as during training
(without that SB3 would reuse one noise matrix for every episode). The deterministic (mean
action) return is recorded as well.

Threads: torch.set_num_threads(--threads) and OMP/MKL/OpenBLAS limited to the same number
before torch is imported (default 1; `rlhf`'s runs use up to 2).

Setup and usage (CPU only; PyPI's torch works as is):
    python3 -m venv /tmp/imitation-venv
    /tmp/imitation-venv/bin/pip install imitation
    # smoke test
    /tmp/imitation-venv/bin/python scripts/imitation_compare.py --queries 100 --agent-steps 20000 --seeds 0
    # the full comparison (≈ minutes per seed on one core)
    nice -n 10 /tmp/imitation-venv/bin/python scripts/imitation_compare.py --json imitation.json
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", default="Pendulum-v1", help="Gymnasium environment id")
    p.add_argument("--queries", type=int, default=1000, help="preference pairs in all (each labelled once)")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds, run one after another")
    p.add_argument("--agent-steps", type=int, default=409_600,
                   help="PPO environment steps (default 100 updates of 4096 steps)")
    p.add_argument("--segment-length", type=int, default=50, help="fragment length in steps")
    p.add_argument("--iterations", type=int, default=20,
                   help="imitation's num_iterations (it gathers an initial round plus this many)")
    p.add_argument("--initial-comparison-frac", type=float, default=0.1)
    p.add_argument("--query-schedule", default="hyperbolic", choices=["constant", "hyperbolic", "inverse_quadratic"])
    p.add_argument("--budget-split", default="exact", choices=["exact", "imitation"],
                   help="'exact': the agent makes exactly agent-steps/4096 updates over the rounds; "
                        "'imitation': stock PreferenceComparisons split (one extra share)")
    p.add_argument("--eval-episodes", type=int, default=20)
    p.add_argument("--threads", type=int, default=1, help="torch / BLAS threads")
    p.add_argument("--json", dest="json_path", help="write the results here as JSON")
    p.add_argument("--verbose", action="store_true", help="show imitation's per-iteration log tables")
    args = p.parse_args(argv)
    args.seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    if args.queries < 1 or args.agent_steps < 1 or args.segment_length < 1 or args.iterations < 1:
        p.error("queries, agent-steps, segment-length and iterations must be positive")
    return args


ARGS = parse_args()
# Thread limits must be in place before numpy / torch load their BLAS.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)
if not ARGS.verbose:
    os.environ.setdefault("TQDM_DISABLE", "1")  # the reward trainer's per-round progress bars

import gymnasium as gym  # noqa: E402
import imitation  # noqa: E402
import numpy as np  # noqa: E402
import stable_baselines3  # noqa: E402
import torch  # noqa: E402
from imitation.algorithms import preference_comparisons  # noqa: E402
from imitation.rewards.reward_nets import BasicRewardNet  # noqa: E402
from imitation.util import logger as imit_logger  # noqa: E402
from imitation.util.networks import RunningNorm  # noqa: E402
from imitation.util.util import make_vec_env  # noqa: E402
from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.evaluation import evaluate_policy  # noqa: E402

torch.set_num_threads(ARGS.threads)

# rl-zoo's PPO hyperparameters for Pendulum-v1 (hyperparams/ppo.yml); batch_size is SB3's default.
N_ENVS = 4
PPO_KWARGS = dict(
    n_steps=1024,
    batch_size=64,
    n_epochs=10,
    gamma=0.9,
    gae_lambda=0.95,
    ent_coef=0.0,
    learning_rate=1e-3,
    clip_range=0.2,
    use_sde=True,
    sde_sample_freq=4,
)
STEPS_PER_UPDATE = N_ENVS * PPO_KWARGS["n_steps"]

# The tutorial's reward-learning settings.
REWARD_EPOCHS = 3
INITIAL_EPOCH_MULTIPLIER = 4
EXPLORATION_FRAC = 0.05


def even_shares(total, parts):
    """`total` split into `parts` near-even integers, the remainder to the earliest parts."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


class ScheduledAgentTrainer(preference_comparisons.AgentTrainer):
    """AgentTrainer that ignores the step count PreferenceComparisons asks for and trains the
    next entry of a fixed schedule of steps instead (whole PPO updates), so that the agent's
    total budget is exactly the one requested."""

    def __init__(self, *args, step_schedule, **kwargs):
        super().__init__(*args, **kwargs)
        self.step_schedule = list(step_schedule)
        self.rounds_trained = 0

    def train(self, steps, **kwargs):
        steps = self.step_schedule[self.rounds_trained] if self.rounds_trained < len(self.step_schedule) else 0
        self.rounds_trained += 1
        if steps > 0:
            super().train(steps, **kwargs)
        elif self.buffering_wrapper.n_transitions:
            raise RuntimeError("transitions left in the buffer")


class RandomPolicy:
    """Uniform actions from the action space, with SB3's predict signature."""

    def __init__(self, action_space, seed):
        self.action_space = action_space
        self.action_space.seed(seed)

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        n = len(observation)
        return np.stack([self.action_space.sample() for _ in range(n)]), state


def evaluate(model, env_name, n_episodes, seed, deterministic, resample_sde_every=None):
    """True-reward returns of `model` over `n_episodes` episodes of a fresh 1-env VecEnv."""
    venv = make_vec_env(env_name, n_envs=1, rng=np.random.default_rng(seed))
    callback = None
    if resample_sde_every:
        model.policy.reset_noise(venv.num_envs)
        counter = {"t": 0}

        def callback(_locals, _globals):
            counter["t"] += 1
            if counter["t"] % resample_sde_every == 0:
                model.policy.reset_noise(venv.num_envs)

    returns, lengths = evaluate_policy(model, venv, n_eval_episodes=n_episodes, deterministic=deterministic,
                                       return_episode_rewards=True, callback=callback, warn=False)
    venv.close()
    returns = np.asarray(returns, dtype=float)
    return {
        "mean": float(returns.mean()),
        "se": float(returns.std(ddof=1) / np.sqrt(len(returns))) if len(returns) > 1 else float("nan"),
        "episodes": len(returns),
        "mean_length": float(np.mean(lengths)),
        "returns": [float(r) for r in returns],
    }


def eval_seed(seed):
    """Evaluation environments are seeded apart from the training ones."""
    return 1_000_003 + seed


def run_seed(args, seed, log_dir):
    t_total = time.perf_counter()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    venv = make_vec_env(args.env, n_envs=N_ENVS, rng=rng)

    reward_net = BasicRewardNet(venv.observation_space, venv.action_space, normalize_input_layer=RunningNorm)
    fragmenter = preference_comparisons.RandomFragmenter(warning_threshold=0, rng=rng)
    gatherer = preference_comparisons.SyntheticGatherer(rng=rng)
    preference_model = preference_comparisons.PreferenceModel(reward_net)
    reward_trainer = preference_comparisons.BasicRewardTrainer(
        preference_model=preference_model,
        loss=preference_comparisons.CrossEntropyRewardLoss(),
        epochs=REWARD_EPOCHS,
        rng=rng,
    )
    agent = PPO("MlpPolicy", venv, seed=seed, verbose=0, device="cpu", **PPO_KWARGS)

    rounds = args.iterations + 1
    if args.budget_split == "exact":
        updates = -(-args.agent_steps // STEPS_PER_UPDATE)
        step_schedule = [u * STEPS_PER_UPDATE for u in even_shares(updates, rounds)]
        trajectory_generator = ScheduledAgentTrainer(
            algorithm=agent, reward_fn=reward_net, venv=venv, exploration_frac=EXPLORATION_FRAC, rng=rng,
            step_schedule=step_schedule)
    else:
        step_schedule = None
        trajectory_generator = preference_comparisons.AgentTrainer(
            algorithm=agent, reward_fn=reward_net, venv=venv, exploration_frac=EXPLORATION_FRAC, rng=rng)

    custom_logger = imit_logger.configure(os.path.join(log_dir, f"seed{seed}"),
                                          ["stdout", "csv"] if args.verbose else ["csv"])
    pref_comparisons = preference_comparisons.PreferenceComparisons(
        trajectory_generator,
        reward_net,
        num_iterations=args.iterations,
        fragmenter=fragmenter,
        preference_gatherer=gatherer,
        reward_trainer=reward_trainer,
        fragment_length=args.segment_length,
        transition_oversampling=1,
        initial_comparison_frac=args.initial_comparison_frac,
        allow_variable_horizon=False,
        initial_epoch_multiplier=INITIAL_EPOCH_MULTIPLIER,
        query_schedule=args.query_schedule,
        custom_logger=custom_logger,
    )

    t_train = time.perf_counter()
    train_stats = pref_comparisons.train(total_timesteps=args.agent_steps, total_comparisons=args.queries)
    train_seconds = time.perf_counter() - t_train

    t_eval = time.perf_counter()
    stochastic = evaluate(agent, args.env, args.eval_episodes, eval_seed(seed), deterministic=False,
                          resample_sde_every=PPO_KWARGS["sde_sample_freq"] if PPO_KWARGS["use_sde"] else None)
    deterministic = evaluate(agent, args.env, args.eval_episodes, eval_seed(seed), deterministic=True)
    eval_seconds = time.perf_counter() - t_eval
    total_seconds = time.perf_counter() - t_total

    random_policy = evaluate(RandomPolicy(gym.make(args.env).action_space, seed), args.env, args.eval_episodes,
                             eval_seed(seed), deterministic=False)
    venv.close()
    return {
        "seed": seed,
        "final_return_stochastic": stochastic,
        "final_return_deterministic": deterministic,
        "random_policy_return": random_policy,
        "train_seconds": train_seconds,
        "eval_seconds": eval_seconds,
        "total_seconds": total_seconds,
        "comparisons_labelled": len(pref_comparisons.dataset),
        "agent_env_steps": int(agent.num_timesteps),
        "agent_updates": int(agent.num_timesteps // STEPS_PER_UPDATE),
        "agent_step_schedule": step_schedule,
        "reward_loss": float(train_stats["reward_loss"]),
        "reward_accuracy": float(train_stats["reward_accuracy"]),
    }


def main(args):
    try:
        niceness = os.nice(0)
    except OSError:
        niceness = None
    meta = {
        "measures": "imitation PreferenceComparisons + SB3 PPO; true return of the final agent",
        "env": args.env,
        "queries": args.queries,
        "segment_length": args.segment_length,
        "agent_steps": args.agent_steps,
        "iterations": args.iterations,
        "initial_comparison_frac": args.initial_comparison_frac,
        "query_schedule": args.query_schedule,
        "budget_split": args.budget_split,
        "eval_episodes": args.eval_episodes,
        "se": "sample std (ddof=1) / sqrt(episodes)",
        "primary_eval": "stochastic policy (deterministic=False), gSDE noise resampled every "
                        f"{PPO_KWARGS['sde_sample_freq']} steps",
        "ppo": dict(PPO_KWARGS, n_envs=N_ENVS, policy="MlpPolicy"),
        "reward_trainer": {"epochs": REWARD_EPOCHS, "batch_size": 32, "lr": 1e-3,
                           "initial_epoch_multiplier": INITIAL_EPOCH_MULTIPLIER},
        "exploration_frac": EXPLORATION_FRAC,
        "gatherer": "SyntheticGatherer(temperature=1, discount_factor=1, sample=True, threshold=50)",
        "torch_threads": torch.get_num_threads(),
        "niceness": niceness,
        "cpu_count": os.cpu_count(),
        "versions": {
            "python": platform.python_version(),
            "imitation": imitation.__version__,
            "stable_baselines3": stable_baselines3.__version__,
            "torch": torch.__version__,
            "gymnasium": gym.__version__,
            "numpy": np.__version__,
        },
    }
    print(f"imitation {imitation.__version__}, stable-baselines3 {stable_baselines3.__version__}, "
          f"torch {torch.__version__} ({torch.get_num_threads()} thread(s)), gymnasium {gym.__version__}; "
          f"nice {niceness}", flush=True)
    print(f"{args.env}: {args.queries} queries, segments of {args.segment_length} steps, "
          f"{args.agent_steps} agent steps, {args.iterations}+1 rounds, budget split '{args.budget_split}'",
          flush=True)

    results = []
    with tempfile.TemporaryDirectory(prefix="imitation_compare_") as log_dir:
        for seed in args.seeds:
            r = run_seed(args, seed, log_dir)
            results.append(r)
            s, d, rnd = r["final_return_stochastic"], r["final_return_deterministic"], r["random_policy_return"]
            print(f"seed {seed}: return {s['mean']:.1f} ± {s['se']:.1f} (stochastic), "
                  f"{d['mean']:.1f} ± {d['se']:.1f} (deterministic); random {rnd['mean']:.1f} ± {rnd['se']:.1f}; "
                  f"train {r['train_seconds']:.1f} s, total {r['total_seconds']:.1f} s; "
                  f"{r['comparisons_labelled']} pairs, {r['agent_updates']} PPO updates "
                  f"({r['agent_env_steps']} steps)", flush=True)
            if args.json_path:  # rewrite after every seed, so a stopped run keeps what it has
                write_json(args.json_path, meta, results)

    means = [r["final_return_stochastic"]["mean"] for r in results]
    if len(means) > 1:
        print(f"across seeds: {np.mean(means):.1f} ± {np.std(means, ddof=1) / np.sqrt(len(means)):.1f} "
              f"(mean ± SE of the {len(means)} seed means)")
    if args.json_path:
        write_json(args.json_path, meta, results)


def write_json(path, meta, results):
    with open(path, "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main(ARGS))
