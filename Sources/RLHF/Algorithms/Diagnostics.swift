/// One named figure an algorithm reports at an evaluation point (PPO's approximate KL, DPO's
/// loss, ZPG's |Δ̂|, …): the optional per-algorithm columns of `metrics.csv` and `results.csv`.
public struct Diagnostic: Sendable, Codable, Equatable {
    /// The column name, snake_case (`approx_kl`, `reward_accuracy`).
    public var name: String
    /// The figure (always finite: a figure undefined over the whole interval, e.g. with no pair
    /// judged, is left out of the point's record).
    public var value: Double

    /// Creates a figure.
    public init(name: String, value: Double) {
        self.name = name
        self.value = value
    }
}

/// Averages figures over the iterations between two evaluation points, in the order of first
/// report: what an optimizer keeps until ``PreferenceOptimizer/takeDiagnostics()``.
///
/// A figure reported k times since the last point is shown as the mean of the k values, so a
/// point's diagnostics describe the whole interval it closes, not only its last iteration.
public struct DiagnosticAccumulator: Sendable, Equatable {
    @usableFromInline var names: [String] = []
    @usableFromInline var sums: [Double] = []
    @usableFromInline var counts: [Int] = []

    /// An empty accumulator.
    public init() {}

    /// Adds one value of `name`; a non-finite one (undefined this iteration, e.g. a share of
    /// zero pairs passed as NaN) only registers the name.
    public mutating func add(_ name: String, _ value: Double) {
        let i: Int
        if let found = names.firstIndex(of: name) {
            i = found
        } else {
            names.append(name)
            sums.append(0)
            counts.append(0)
            i = names.count - 1
        }
        guard value.isFinite else { return }
        sums[i] += value
        counts[i] += 1
    }

    /// The means since the last call, in the order of first report (a figure never finite in
    /// between is left out), and a reset.
    public mutating func take() -> [Diagnostic] {
        defer { self = DiagnosticAccumulator() }
        return names.indices.compactMap { counts[$0] > 0 ? Diagnostic(name: names[$0], value: sums[$0] / Double(counts[$0])) : nil }
    }
}
