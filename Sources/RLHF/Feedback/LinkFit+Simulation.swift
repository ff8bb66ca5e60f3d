extension LinkFit {
    /// Simulated votes spread x uniformly over [−spread·s, spread·s], s the panel's link scale:
    /// ±3s reaches σ ≈ 0.95 (Bradley-Terry) to 0.999 (Thurstone), so the sample sees both the
    /// slope of the link near 0 and its tails.
    public static let simulationSpread = 3.0

    /// The stream of simulated labels: pair n draws from `Xoshiro256(seed:stream:)` with
    /// coordinates (this, n).
    public static let simulationStream: UInt64 = 0x4C49_4E4B_4649_5400    // "LINKFIT"

    /// Simulated votes of a known link, to check that a fit recovers it: `pairs` pairs with
    /// return differences x uniform on [−spread·s, spread·s], each judged by the panel's M
    /// evaluators (``EvaluatorPanel/preferenceRate(_:_:using:)``, its teacher included).
    ///
    /// Pair n draws x and then its M votes from `Xoshiro256(seed: seed, stream:
    /// simulationStream, n)`, so a table is the same on every machine. A pair the teacher skips
    /// gives no votes. A ``EvaluatorPanel/noiseless`` panel gives the expected counts σ(x)·M.
    public static func simulate(panel: EvaluatorPanel, pairs: Int, seed: UInt64,
                                spread: Double = simulationSpread) throws -> VoteTable {
        try Validate.atLeast(pairs, 1, "pairs", atMost: Limits.pairs)
        try Validate.positive(spread, "spread")
        try Validate.product([pairs, panel.evaluators], atMost: Limits.count, "pairs", "pairs × evaluators")
        let width = spread * panel.link.scale
        try Validate.positive(width, "spread × scale")
        let m = Double(panel.evaluators)
        var table = VoteTable()
        let zero = ShownTrajectory(totalReturn: 0, myopicReturn: 0)
        for n in 0..<pairs {
            var rng = Xoshiro256(seed: seed, stream: simulationStream, UInt64(n))
            let x = (2 * rng.uniform() - 1) * width
            guard let rate = panel.preferenceRate(zero, ShownTrajectory(totalReturn: x, myopicReturn: x), using: &rng) else {
                continue
            }
            let forSecond = panel.noiseless ? rate * m : (rate * m).rounded()
            try table.add(difference: x, forSecond: forSecond, forFirst: m - forSecond)
        }
        return table
    }
}
