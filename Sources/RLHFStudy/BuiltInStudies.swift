/// The studies of spec §7, runnable as `rlhf study NAME` and printable as YAML
/// (`rlhf study --show NAME`) to start a study of one's own.
public enum BuiltInStudies {
    /// A built-in study: its name, a one-line summary and its YAML.
    public struct Entry: Sendable {
        /// `rlhf study NAME`.
        public var name: String
        /// What it measures, in one line.
        public var summary: String
        /// The study file.
        public var yaml: String
    }

    /// The study called `name`, if there is one.
    public static func named(_ name: String) -> Entry? { all.first { $0.name == name } }

    /// Every built-in study, in the order of spec §7.
    public static let all: [Entry] = [
        Entry(name: "gradient", summary: "ZPG's estimator vs the exact gradient of the smoothed value as the panel grows", yaml: """
            name: gradient
            title: ZPG's gradient estimator against the exact smoothed gradient
            question: Does the average of ZPG's estimates approach the exact gradient of the μ-smoothed value as the panel grows (M → ∞)?
            kind: gradient
            seeds: 3
            """),
        Entry(name: "block-size", summary: "ZBCPG's block count K: progress per query and wall time with 2 worker threads", yaml: """
            name: block-size
            title: "ZBCPG block size: progress per query and wall time"
            question: How does ZBCPG's number of blocks K change progress per query, and how much wall time do parallel block workers save?
            environments: [classic]
            links: [bradley-terry]
            seeds: 5
            budgets: [1e5, 1e6, 1e7]
            # Runs one at a time so that each can use both cores for its blocks; the wall-time
            # table compares 2 threads with 1 (the -1t variants) at equal queries.
            workers: 1
            settings: {threads: 2}
            algorithms:
              - {label: zpg, algorithm: zpg}
              - {label: zpg-1t, algorithm: zpg, threads: 1}
              - {label: zbcpg-k2, algorithm: zbcpg, blocks: 2}
              - {label: zbcpg-k4, algorithm: zbcpg, blocks: 4}
              - {label: zbcpg-k4-1t, algorithm: zbcpg, blocks: 4, threads: 1}
              - {label: zbcpg-k8, algorithm: zbcpg, blocks: 8}
              - {label: zbcpg-k16, algorithm: zbcpg, blocks: 16}
              - {label: zbcpg-random-b23, algorithm: zbcpg, block-mode: random, block-size: 23}
            """),
        Entry(name: "trimming", summary: "Trimmed vs untrimmed preference rates (ε sweep) under clean and noisy teachers", yaml: """
            name: trimming
            title: Trimming the preference rate (ε sweep)
            question: Does clamping p̂ to [ε, 1−ε] help ZPG under noisy feedback, and which ε is best?
            environments: [classic]
            links: [bradley-terry]
            feedback:
              - {label: clean, teacher: {mistake-rate: 0}}
              - {label: mistakes 20%, teacher: {mistake-rate: 0.2}}
            seeds: 5
            budgets: [1e5, 1e6]
            algorithms:
              - {label: eps=0, algorithm: zpg, trim: 0}
              - {label: eps=0.01, algorithm: zpg, trim: 0.01}
              - {label: eps=0.05 (1/2M), algorithm: zpg, trim: 0.05}
              - {label: eps=0.1, algorithm: zpg, trim: 0.1}
              - {label: eps=0.2, algorithm: zpg, trim: 0.2}
            """),
        Entry(name: "noise", summary: "Noisy teachers (mistakes, ties, myopia, skips) and link scales, ZPG vs online DPO", yaml: """
            name: noise
            title: Sensitivity to noisy evaluators
            question: How much do noisy teachers and flatter or sharper links cost ZPG and online DPO?
            environments: [classic]
            links:
              - bradley-terry
              - {kind: bradley-terry, scale: 0.5}
              - {kind: bradley-terry, scale: 2}
            feedback:
              - {label: ideal}
              - {label: mistakes 10%, teacher: {mistake-rate: 0.1}}
              - {label: mistakes 30%, teacher: {mistake-rate: 0.3}}
              - {label: ties below 0.1, teacher: {equal-threshold: 0.1}}
              - {label: myopic 0.9, teacher: {myopic-discount: 0.9}}
            seeds: 5
            budgets: [1e5, 1e6]
            algorithms: [zpg, online-dpo]
            """),
        Entry(name: "dimension", summary: "Scaling with dimension: open-5, open-10, open-20 (d = 100, 400, 1600)", yaml: """
            name: dimension
            title: Scaling with the dimension of the policy
            question: How do the queries ZPG and ZBCPG need grow with the dimension d of the policy (open-5, open-10, open-20)?
            answer: {threshold: 0.9}
            environments: [open-5, open-10, open-20]
            links: [bradley-terry]
            seeds: 5
            budgets: [1e5, 1e6, 1e7]
            # The defaults (μ = 4, α = 0.01) were tuned on classic (d = 64). On open-10 the uniform
            # policy reaches the goal in 0.26% of episodes, so most pairs tie and value
            # differences are tiny: a larger μ and α (tried on seeds 0–1 at 10⁶–10⁷ queries)
            # are needed there. On open-20, V(uniform) = 7·10⁻⁶: almost every pair ties.
            algorithms:
              - zpg
              - {label: zbcpg-k4, algorithm: zbcpg, blocks: 4}
              - {label: zpg-mu12-a0.05, algorithm: zpg, mu: 12, alpha: 0.05}
              - {label: zbcpg-k4-mu12-a0.05, algorithm: zbcpg, blocks: 4, mu: 12, alpha: 0.05}
            """),
        Entry(name: "critic", summary: "The DQN critic (Algorithm 2) against the exact Q on classic", yaml: """
            name: critic
            title: The DQN critic against the exact Q
            question: How close does Algorithm 2's critic get to the exact discounted Q of a fixed policy on classic, and how fast?
            kind: critic
            seeds: 3
            """),
        Entry(name: "hypergradient", summary: "The penalty gradient ∇Φ_σ vs the exact hypergradient as σ → 0", yaml: """
            name: hypergradient
            title: The penalty gradient against the exact hypergradient
            question: Does the first-order penalty gradient ∇Φ_σ approach the exact hypergradient as σ → 0?
            kind: hypergradient
            seeds: 3
            """),
        Entry(name: "bilevel", summary: "The bilevel method (σ = 10 and 1, λ' and λ) against online and offline RM+PPO on classic", yaml: """
            name: bilevel
            title: The bilevel method against reward model + PPO
            question: Does the bilevel method (Algorithm 1) beat reward model + PPO, online or offline, at equal queries on classic?
            answer:
              compare:
                a: {name: the bilevel method, variants: [bilevel, bilevel-penalty, bilevel-sigma1]}
                b: {name: RM+PPO, variants: [rm-ppo, rm-ppo-offline]}
            environments: [classic]
            links: [bradley-terry]
            seeds: 5
            budgets: [1e4, 1e5]
            algorithms:
              - bilevel
              - {label: bilevel-penalty, algorithm: bilevel, bilevel-deploy: penalty}
              - {label: bilevel-sigma1, algorithm: bilevel, bilevel: {sigma: 1}}
              # Tabular rewards everywhere (linear on one-hot features), as the bilevel default.
              - {label: rm-ppo, algorithm: rm-ppo, rm-ppo: {reward-model: {hidden: []}}}
              - {label: rm-ppo-offline, algorithm: rm-ppo-offline, rm-ppo: {reward-model: {hidden: []}}}
            notes:
              - "bilevel reports π_λ' (the tracker of λ*(φ)); bilevel-penalty is the same run reporting π_λ, the policy that queries. At 10⁶ queries a bilevel run takes 2–3 min and an online RM+PPO run 4 min: the README's table (scripts/bilevel_table.py) has that column, with MLP rewards too."
            """),
        Entry(name: "fixed-point", summary: "Is the optimal policy a fixed point of on-policy reward learning on classic?", yaml: """
            name: fixed-point
            title: Fixed points of on-policy reward learning
            question: Is the optimal policy a fixed point of on-policy reward learning on classic, and where does the loop go from the uniform policy?
            kind: fixed-point
            seeds: 3
            """),
        Entry(name: "sigma", summary: "σ sensitivity of the bilevel method (Algorithm 1) on classic", yaml: """
            name: sigma
            title: σ sensitivity of the bilevel method
            question: How does the penalty σ change what Algorithm 1 reaches on classic?
            environments: [classic]
            links: [bradley-terry]
            seeds: 3
            budgets: [1e4, 1e5]
            algorithms:
              - {label: sigma=0.1, algorithm: bilevel, bilevel: {sigma: 0.1}}
              - {label: sigma=1, algorithm: bilevel, bilevel: {sigma: 1}}
              - {label: sigma=10, algorithm: bilevel, bilevel: {sigma: 10}}
              - {label: sigma=100, algorithm: bilevel, bilevel: {sigma: 100}}
            """),
        Entry(name: "sample-efficiency", summary: "Every algorithm on classic under Bradley-Terry and Weibull: value vs queries", yaml: """
            name: sample-efficiency
            title: Sample efficiency on classic
            question: Do the zeroth-order methods (ZPG, ZBCPG) beat the reward-model and DPO baselines at equal queries, under each link?
            answer:
              compare:
                a: {name: the zeroth-order methods, variants: [zpg, zbcpg]}
                b: {name: the baselines, variants: [rm-ppo, dpo, online-dpo, bilevel]}
            environments: [classic]
            links: [bradley-terry, weibull]
            seeds: 10
            budgets: [1e4, 1e5, 1e6]
            algorithms:
              - zpg
              - zbcpg
              # Tabular reward model (linear on one-hot features): a 64-64 network refit on all
              # data every round takes ~40 s a run at 10⁵ queries.
              - {label: rm-ppo, algorithm: rm-ppo, rm-ppo: {reward-model: {hidden: []}}, budgets: [1e4, 1e5]}
              # DPO and the bilevel method take 40 s and ~3 min a run at 10⁶ queries (and DPO has
              # flattened out by 10⁵): left out there to keep the study under 10 minutes.
              - {label: dpo, algorithm: dpo, budgets: [1e4, 1e5]}
              - online-dpo
              - {label: bilevel, algorithm: bilevel, budgets: [1e4, 1e5]}
            notes:
              - "RM+PPO uses a tabular reward model; RM+PPO, DPO and bilevel are not run at 10⁶ queries (too slow for the 10-minute target; see the README's table for single runs there)."
            """),
        Entry(name: "min-queries", summary: "The smallest budget each method needs to reach normalized 0.9 on classic", yaml: """
            name: min-queries
            title: Queries needed to reach normalized value 0.9
            question: What is the smallest query budget with which each method reaches normalized value 0.9 on classic?
            answer: {threshold: 0.9}
            environments: [classic]
            links: [bradley-terry]
            seeds: 5
            budgets: [3e3, 1e4, 3e4, 1e5, 3e5, 1e6]
            algorithms:
              - zpg
              - zbcpg
              - {label: online-dpo, algorithm: online-dpo}
              - {label: rm-ppo-offline, algorithm: rm-ppo-offline, rm-ppo: {reward-model: {hidden: []}}}
              - {label: rm-ppo, algorithm: rm-ppo, rm-ppo: {reward-model: {hidden: []}}, budgets: [3e3, 1e4, 3e4, 1e5]}
            """),
        Entry(name: "continuous-control", summary: "ZPG, ZBCPG and RM + PPO on box actions (pendulum, Gymnasium's Hopper-v5) against PPO on the true reward", yaml: """
            name: continuous-control
            title: Continuous control on Pendulum-v1 and Hopper-v5
            question: On box-action tasks, how far do the zeroth-order methods and RM + PPO move the Gaussian policy from the random one, against PPO on the true reward (the ceiling, no queries)?
            # Hopper-v5 runs in Gymnasium (gymnasium[mujoco] for the Python that --python or
            # RLHF_PYTHON names); pendulum is the native Pendulum-v1.
            environments:
              - pendulum
              - {name: gym:Hopper-v5, label: hopper}
            links: [bradley-terry]
            seeds: 3
            # Hopper-v5 steps through the worker one row per round trip (≈ 2–3k steps/s): one
            # budget of 10³ queries keeps the study at minutes (with 4·10³ as well it took 17.5
            # minutes, Hopper's ZPG and ZBCPG runs 2.6–3.6 min each), far below what the task needs.
            budgets: [1e3]
            settings: {evaluators: 1, evaluation-episodes: 50}
            algorithms:
              - zpg
              - zbcpg
              - {label: rm-ppo, algorithm: rm-ppo, segment-length: 50, rm-ppo: {agent-steps: 122880}}
              - {label: ppo-true-reward, algorithm: ppo-true-reward, ppo-updates: 30}
            notes:
              - "PPO on the true reward uses no queries: its 30 updates of 4096 steps are the same run at any budget. With 200 updates it reaches −186, −176, −189 on pendulum (seeds 0–2)."
              - "RM + PPO labels segments of 50 steps (whole 200-step pendulum episodes teach a reward that PPO exploits: −1447 at 10³ queries, seed 0) and trains the same 30 updates of 4096 steps as the ceiling. With its default 100 updates it reaches −540, −244, −235 on pendulum at 10³ queries (seeds 0–2)."
              - "DPO and online DPO run on box actions but are not in this study yet: with the defaults tuned on classic they barely move pendulum's random policy at 10³–2·10⁴ queries. The bilevel method does not run on box actions yet."
            """),
    ]
}
