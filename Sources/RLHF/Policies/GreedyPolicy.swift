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
            out[s * m + firstMaximum(probabilities[(s * m)..<(s * m + m)])] = 1
        }
        return out
    }

    /// The offset of the first largest value (the greedy action of a row of probabilities or
    /// logits).
    @inlinable
    public static func firstMaximum<C: RandomAccessCollection>(_ values: C) -> Int where C.Element == Double, C.Index == Int {
        var best = values.startIndex
        for i in values.indices where values[i] > values[best] { best = i }
        return best - values.startIndex
    }
}
