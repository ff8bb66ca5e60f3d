/// Hyperparameters of ZPG (spec §4), with their defaults.
///
/// The defaults are the calibration of spec §4 (tabular softmax from θ = 0 on `classic` with
/// Bradley-Terry feedback): μ = 4, α = 0.01, N = 8 pairs, with M = 10 evaluators set on the
/// panel. Smaller μ or larger α drowned in noise there.
public struct ZPGHyperparameters: Sendable, Equatable, Codable {
    /// Perturbation radius μ.
    public var mu: Double = 4
    /// Step size α.
    public var alpha: Double = 0.01
    /// Trajectory pairs N per iteration (per block, for ZBCPG).
    public var pairs: Int = 8
    /// Clip the norm of the gradient estimate to this value (nil: no clipping).
    public var gradientClip: Double? = nil

    /// The defaults.
    public init() {}

    /// Throws on non-finite or non-positive values.
    public func validate() throws {
        try Validate.positive(mu, "mu (perturbation radius)")
        try Validate.positive(alpha, "alpha (step size)")
        try Validate.atLeast(pairs, 1, "pairs (N)", atMost: Limits.pairs)
        if let c = gradientClip { try Validate.positive(c, "gradient clip") }
    }
}

/// ZPG, zeroth-order policy gradient without a reward model (spec §4, seed 003).
///
/// Per iteration t:
/// 1. draw v uniformly from the unit sphere S^{d−1} and set θ' = θ + μ v;
/// 2. for n = 1…N roll out τ⁰ ~ π_θ and τ¹ ~ π_θ', ask the M evaluators, Δ̂_n = σ⁻¹(trim(p̂_n));
/// 3. ĝ = (d/μ)·mean(Δ̂)·v, an estimate of the gradient of the μ-smoothed value;
/// 4. θ ← θ + α ĝ (ĝ's norm clipped if asked).
/// Each iteration costs N·M queries and 2N rollouts. It is ZBCPG with one block: the random
/// streams are the same, so `ZBCPG` with K = 1 reproduces ZPG exactly.
public struct ZPG<E: EpisodicEnvironment, F: EpisodicPolicyFamily>: PreferenceOptimizer where F.State == E.State, F.Action == E.Action {
    /// The hyperparameters.
    public let hyper: ZPGHyperparameters
    /// The environment rollouts run in.
    public let env: E
    /// The policy parametrization.
    public let family: F
    /// The model of the evaluators: M, the link inverted and the trimming ε.
    public let panel: EvaluatorPanel
    /// Who answers the comparisons: the panel itself unless another source is given.
    public let source: any PreferenceSource
    /// The run's seed.
    public let seed: UInt64
    public var parameters: [Double]
    /// `abs_delta`, `mean_delta`, `tied_share`, `skipped_share` (``DiagnosticAccumulator/addZerothOrder(_:pairsAsked:)``)
    /// and `gradient_norm`, ‖ĝ‖ before any clip.
    var diagnostics = DiagnosticAccumulator()
    let worker: ZerothOrderWorker<F>
    let allCoordinates: [Int]

    /// Creates the optimizer starting from `initial` (θ = 0, the uniform policy, if nil).
    ///
    /// - Parameter source: who answers the comparisons (the panel when nil); it must give the
    ///   panel's M answers a pair.
    public init(env: E, family: F, panel: EvaluatorPanel, hyper: ZPGHyperparameters = .init(),
                seed: UInt64, initial: [Double]? = nil, source: (any PreferenceSource)? = nil) throws {
        try hyper.validate()
        self.source = try checkedSource(source, panel: panel)
        self.env = env
        self.family = family
        self.panel = panel
        self.hyper = hyper
        self.seed = seed
        let d = family.parameterCount
        parameters = initial ?? [Double](repeating: 0, count: d)
        precondition(parameters.count == d, "θ has \(parameters.count) entries, the policy needs \(d)")
        worker = ZerothOrderWorker(family: family, blockSize: d)
        allCoordinates = Array(0..<d)
    }

    public func queries(forIteration t: Int) -> Int { queriesPerIteration }

    /// Only θ changes between iterations.
    public var resumableFromParameters: Bool { true }

    /// Queries every iteration costs.
    public var queriesPerIteration: Int { hyper.pairs * panel.queriesPerPair }

    public mutating func iterate(_ t: Int, ledger: inout QueryLedger) throws -> Int {
        try ledger.charge(queriesPerIteration, for: "one ZPG iteration")
        let d = parameters.count
        // Steps 1–2: perturb along v and estimate V(θ + μv) − V(θ) from N judged pairs.
        let proposal = try parameters.withUnsafeBufferPointer { theta in
            try proposeBlock(env: env, family: family, myopicDiscount: panel.teacher.myopicDiscount,
                             display: source.needsTrajectories, theta: theta, coordinates: allCoordinates,
                             mu: hyper.mu, pairs: hyper.pairs, seed: seed, iteration: t, block: 0, name: "zpg",
                             worker: worker).get()
        }
        let rates = try askSource(proposal.requests, by: source)
        let estimate = estimateBlock(rates: rates[...], panel: panel, steps: proposal.steps)
        guard estimate.meanDifference.isFinite else {
            throw RLHFError.diverged(iteration: t, message: "the value-difference estimate is \(estimate.meanDifference) (trimming ε = \(panel.trim); use ε > 0)")
        }
        // Step 3: ĝ = (d/μ) Δ̂ v, whose norm is (d/μ)|Δ̂| because v is a unit vector.
        var scale = Double(d) / hyper.mu * estimate.meanDifference
        diagnostics.addZerothOrder([estimate], pairsAsked: hyper.pairs)
        diagnostics.add("gradient_norm", abs(scale))
        scale *= GradientClipping.factor(norm: abs(scale), maxNorm: hyper.gradientClip)
        // Step 4: gradient ascent.
        let step = hyper.alpha * scale
        for i in 0..<d { parameters[i] += step * worker.direction[i] }
        return estimate.steps
    }

    public mutating func takeDiagnostics() -> [Diagnostic] { diagnostics.take() }
}
