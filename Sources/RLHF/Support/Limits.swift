/// The largest sizes the toolkit accepts, checked before anything is allocated.
///
/// Every bound is far above what a study on one machine needs, and low enough that a typo
/// (`--horizon 1000000000`, `--hidden 99999999999`) fails at once with a message naming the
/// bound instead of crashing on overflow or exhausting memory. The README lists them.
public enum Limits {
    /// Steps of one episode, H ≤ 100,000 (CartPole-v1 uses 500, the GridWorld presets ≤ 50).
    public static let horizon = 100_000
    /// Cells of a GridWorld map, rows × columns ≤ 1,000,000 (1000 × 1000).
    public static let mapCells = 1_000_000
    /// Bytes of a map file, ≤ 8 MiB (a 1000 × 1000 map is about 1 MB).
    public static let mapBytes = 8 << 20
    /// Entries of the exact model's per-step tables, |S|·|A|·H ≤ 50,000,000 (400 MB of doubles):
    /// exact evaluation and the exact policy gradient keep one table per step.
    public static let tabularWork = 50_000_000
    /// Entries of a linear bandit's feature table, contexts × actions × features ≤ 10,000,000.
    public static let banditEntries = 10_000_000
    /// Evaluators M asked about one pair, ≤ 1,000,000.
    public static let evaluators = 1_000_000
    /// Pairs per iteration, round or block, and pairs kept in a dataset, ≤ 10,000,000.
    public static let pairs = 10_000_000
    /// The query budget, ≤ 10¹⁵ (a 10⁸-query run takes minutes; counts stay far from overflow).
    public static let budget = 1_000_000_000_000_000
    /// Width of one hidden layer, ≤ 65,536.
    public static let layerWidth = 65_536
    /// Hidden layers of a network, ≤ 64.
    public static let layers = 64
    /// Parameters of one network, ≤ 50,000,000 (400 MB of doubles, before optimizer state).
    public static let parameters = 50_000_000
    /// Episodes of one Monte-Carlo evaluation, ≤ 10,000,000.
    public static let episodes = 10_000_000
    /// Environment steps one update collects into a buffer (PPO), ≤ 10,000,000.
    public static let bufferSteps = 10_000_000
    /// Bytes of a file of labels: read by `rlhf fit-link` (an export of the labeling service or a
    /// preference dataset) or replayed by `--feedback replay` (recorded answers), ≤ 1 GiB (a million answers with short trajectories is about 300 MB).
    public static let labelFileBytes = 1 << 30
    /// Lines of a file of labels (answers of an export, pairs of a dataset), ≤ 10,000,000.
    public static let labelFileLines = 10_000_000
    /// Worker threads, ≤ 1,024.
    public static let threads = 1_024
    /// Any other count a setting gives (iterations, rounds, epochs, updates, steps), ≤ 10⁹.
    public static let count = 1_000_000_000
}

extension Validate {
    /// Throws unless the product of `factors` is at most `maximum` (without overflowing),
    /// describing the product as `what`.
    public static func product(_ factors: [Int], atMost maximum: Int, _ name: String, _ what: String) throws {
        var product = 1
        for f in factors {
            let (p, overflow) = product.multipliedReportingOverflow(by: max(f, 0))
            guard !overflow, p <= maximum else {
                throw RLHFError.invalidArgument(name: name, message: "\(what) = \(factors.map(\.formatted).joined(separator: " × ")) is above the limit of \(maximum.formatted)")
            }
            product = p
        }
    }
}

extension Int {
    /// The integer with thousands separators, as limits are printed: 1,000,000.
    var formatted: String {
        let digits = String(magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return (self < 0 ? "-" : "") + out
    }
}

extension Validate {
    /// Throws unless an MLP of these layer sizes has at most ``Limits/parameters`` weights and
    /// biases, computed without overflow before anything is allocated.
    public static func network(inputs: Int, hidden: [Int], outputs: Int, _ name: String) throws {
        let sizes = [inputs] + hidden + [outputs]
        var total = 0
        for (a, b) in zip(sizes, sizes.dropFirst()) {
            let (weights, o1) = (a + 1).multipliedReportingOverflow(by: b)
            let (sum, o2) = total.addingReportingOverflow(weights)
            guard !o1, !o2, sum <= Limits.parameters else {
                throw RLHFError.invalidArgument(name: name, message: "a network of layer sizes \(sizes.map(\.formatted).joined(separator: "-")) has more than the limit of \(Limits.parameters.formatted) parameters")
            }
            total = sum
        }
    }
}
