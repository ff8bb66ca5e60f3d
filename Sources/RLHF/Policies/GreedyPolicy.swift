/// How a run evaluates its policy.
public enum EvaluationMode: String, Sendable, Equatable, Codable, CaseIterable {
    /// The stochastic policy π_θ itself (the objective the algorithms optimize).
    case stochastic
    /// The greedy policy: in every state the most probable action of π_θ (the first of equally
    /// probable ones), as deterministic evaluations in RL libraries do.
    case deterministic
}

/// The greedy form of a tabular policy.
public enum GreedyPolicy {
    /// One-hot rows: each state's first most probable action gets probability 1.
    ///
    /// - Parameter probabilities: π(a|s) at s·|A| + a.
    public static func table(_ probabilities: [Double], actionCount m: Int) -> [Double] {
        precondition(m >= 1 && probabilities.count % m == 0, "a probability table has |S|·|A| entries")
        var out = [Double](repeating: 0, count: probabilities.count)
        for s in 0..<(probabilities.count / m) {
            var best = 0
            for a in 1..<max(m, 1) where probabilities[s * m + a] > probabilities[s * m + best] { best = a }
            out[s * m + best] = 1
        }
        return out
    }
}
