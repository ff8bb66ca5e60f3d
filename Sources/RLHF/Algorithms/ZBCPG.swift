/// Hyperparameters of ZBCPG (spec §4), with their defaults.
public struct ZBCPGHyperparameters: Sendable, Equatable, Codable {
    /// How coordinates are grouped into blocks.
    public enum BlockMode: String, Sendable, Equatable, Codable, CaseIterable {
        /// A fixed random partition into K blocks of ~d/K coordinates, all K estimated each
        /// iteration in parallel (the default).
        case partition
        /// One block of ``ZBCPGHyperparameters/blockSize`` coordinates drawn at random each iteration.
        case random
        /// Blocks given by the model's structure (one per network layer), all estimated each
        /// iteration in parallel; the caller passes them to ``ZBCPG/init(env:family:panel:hyper:seed:initial:blocks:)``.
        case layers
    }

    /// μ, α, N and clipping, as for ZPG (N is per block).
    public var base = ZPGHyperparameters()
    /// Number of blocks K (partition mode). Default 4: on `classic` (d = 92) that is 23
    /// coordinates a block, and four workers keep 2–4 cores busy.
    public var blocks: Int = 4
    /// The grouping.
    public var mode: BlockMode = .partition
    /// Block size b in random mode (nil: ⌈d/K⌉).
    public var blockSize: Int? = nil
    /// Worker threads for the blocks (results do not depend on it). Default: all cores.
    public var threads: Int = Parallel.coreCount

    /// The defaults.
    public init() {}

    /// Throws on bad values.
    public func validate() throws {
        try base.validate()
        try Validate.atLeast(blocks, 1, "blocks (K)")
        if let b = blockSize { try Validate.atLeast(b, 1, "block size") }
        try Validate.atLeast(threads, 1, "threads", atMost: Limits.threads)
    }
}

/// ZBCPG, zeroth-order block-coordinate policy gradient (spec §4, seed 003).
///
/// The coordinates are split into K blocks (a fixed random partition drawn from stream
/// (seed, 0xB10C), each block's indices sorted). Per iteration, every block b — in parallel,
/// each with its own rollouts, evaluators and random stream (seed, t, b) — draws v_b uniformly
/// from the unit sphere of its coordinates, estimates Δ̂_b for θ' = θ + μ v_b as ZPG does, and
/// forms ĝ_b = (d_b/μ) Δ̂_b v_b. The update θ ← θ + α Σ_b ĝ_b applies all blocks at once.
/// Each iteration costs K·N·M queries. With K = 1 the block is every coordinate in order and
/// the numbers are ZPG's exactly. In random mode, one block of b coordinates is drawn per
/// iteration from stream (seed, t, 0xB10C) and the iteration costs N·M queries.
public struct ZBCPG<E: EpisodicEnvironment, F: EpisodicPolicyFamily>: PreferenceOptimizer where F.State == E.State, F.Action == E.Action {
    /// The hyperparameters.
    public let hyper: ZBCPGHyperparameters
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
    /// As ZPG's: `abs_delta`, `mean_delta`, `tied_share`, `skipped_share` over the iteration's
    /// blocks, and `gradient_norm`, ‖ĝ‖ before any clip.
    var diagnostics = DiagnosticAccumulator()
    /// The blocks' coordinates (partition mode).
    public let blocks: [[Int]]
    let workers: [ZerothOrderWorker<F>]
    let randomBlockSize: Int

    /// Creates the optimizer starting from `initial` (θ = 0, the uniform policy, if nil).
    public init(env: E, family: F, panel: EvaluatorPanel, hyper: ZBCPGHyperparameters = .init(),
                seed: UInt64, initial: [Double]? = nil, blocks given: [[Int]]? = nil,
                source: (any PreferenceSource)? = nil) throws {
        try hyper.validate()
        self.source = try checkedSource(source, panel: panel)
        let d = family.parameterCount
        guard hyper.blocks <= d || hyper.mode == .layers else {
            throw RLHFError.invalidArgument(name: "blocks (K)", message: "\(hyper.blocks) blocks exceed the \(d) parameters")
        }
        self.env = env
        self.family = family
        self.panel = panel
        self.hyper = hyper
        self.seed = seed
        parameters = initial ?? [Double](repeating: 0, count: d)
        precondition(parameters.count == d, "θ has \(parameters.count) entries, the policy needs \(d)")
        if hyper.mode == .layers {
            guard let given, given.flatMap({ $0 }).sorted() == Array(0..<d) else {
                throw RLHFError.invalidArgument(name: "block mode", message: "'layers' needs blocks that partition the \(d) parameters (an MLP policy)")
            }
            blocks = given
        } else {
            blocks = ZBCPG.partition(dimension: d, blocks: hyper.blocks, seed: seed)
        }
        randomBlockSize = min(d, hyper.blockSize ?? (d + hyper.blocks - 1) / hyper.blocks)
        switch hyper.mode {
        case .partition, .layers: workers = blocks.map { ZerothOrderWorker(family: family, blockSize: $0.count) }
        case .random: workers = [ZerothOrderWorker(family: family, blockSize: randomBlockSize)]
        }
    }

    /// A random partition of 0..<d into K blocks of sizes differing by at most one, each sorted.
    /// With K = 1 it is 0..<d in order.
    public static func partition(dimension d: Int, blocks k: Int, seed: UInt64) -> [[Int]] {
        if k == 1 { return [Array(0..<d)] }
        var rng = Xoshiro256(seed: seed, stream: 0xB10C)
        let perm = rng.permutation(d)
        var out = [[Int]]()
        var start = 0
        for b in 0..<k {
            let size = d / k + (b < d % k ? 1 : 0)
            out.append(perm[start..<(start + size)].sorted())
            start += size
        }
        return out
    }

    public func queries(forIteration t: Int) -> Int { queriesPerIteration }

    /// Only θ changes between iterations.
    public var resumableFromParameters: Bool { true }

    /// Queries every iteration costs.
    public var queriesPerIteration: Int {
        (hyper.mode == .random ? 1 : blocks.count) * hyper.base.pairs * panel.queriesPerPair
    }

    public mutating func iterate(_ t: Int, ledger: inout QueryLedger) throws -> Int {
        try ledger.charge(queriesPerIteration, for: "one ZBCPG iteration")
        let h = hyper.base
        let d = parameters.count
        // The blocks of this iteration.
        let chosen: [[Int]]
        switch hyper.mode {
        case .partition, .layers: chosen = blocks
        case .random:
            var rng = Xoshiro256(seed: seed, stream: UInt64(t), 0xB10C)
            chosen = [Array(rng.permutation(d).prefix(randomBlockSize)).sorted()]
        }
        // Every block rolls out its pairs in parallel from the same θ; the source is asked
        // about all of them at once, and each block's Δ̂ is the mean over its own pairs.
        let (env, family, seed, workers) = (self.env, self.family, self.seed, self.workers)
        let (gammaM, display) = (panel.teacher.myopicDiscount, source.needsTrajectories)
        let proposals = try parameters.withUnsafeBufferPointer { theta in
            nonisolated(unsafe) let theta = theta
            return try Parallel.map(chosen.count, threads: hyper.threads) { b in
                proposeBlock(env: env, family: family, myopicDiscount: gammaM, display: display, theta: theta,
                             coordinates: chosen[b], mu: h.mu, pairs: h.pairs, seed: seed, iteration: t, block: b,
                             name: "zbcpg", worker: workers[b])
            }.map { try $0.get() }
        }
        let rates = try askSource(proposals.flatMap(\.requests), by: source)
        let estimates = proposals.indices.map { b in
            estimateBlock(rates: rates[(b * h.pairs)..<((b + 1) * h.pairs)], panel: panel, steps: proposals[b].steps)
        }
        // ĝ = Σ_b (d_b/μ) Δ̂_b v_b; the blocks are disjoint, so ‖ĝ‖² = Σ_b ((d_b/μ) Δ̂_b)².
        var scales = [Double](), norm2 = 0.0, steps = 0
        for (b, e) in estimates.enumerated() {
            guard e.meanDifference.isFinite else {
                throw RLHFError.diverged(iteration: t, message: "block \(b)'s value-difference estimate is \(e.meanDifference) (trimming ε = \(panel.trim); use ε > 0)")
            }
            let s = Double(chosen[b].count) / h.mu * e.meanDifference
            scales.append(s)
            norm2 += s * s
            steps += e.steps
        }
        diagnostics.addZerothOrder(estimates, pairsAsked: h.pairs * estimates.count)
        diagnostics.add("gradient_norm", norm2.squareRoot())
        let factor = h.alpha * GradientClipping.factor(norm: norm2.squareRoot(), maxNorm: h.gradientClip)
        for (b, coordinates) in chosen.enumerated() {
            let step = factor * scales[b]
            for (i, c) in coordinates.enumerated() { parameters[c] += step * workers[b].direction[i] }
        }
        return steps
    }

    public mutating func takeDiagnostics() -> [Diagnostic] { diagnostics.take() }
}
