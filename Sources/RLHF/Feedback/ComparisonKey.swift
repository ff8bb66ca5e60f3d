/// A pair's name within its run, unique and the same every time the run is repeated or resumed:
/// `zpg/t3/b0/n5` (algorithm, iteration, block, pair) or `rm-ppo/r2/n17` (algorithm, round,
/// pair). What makes asking twice idempotent, and how recorded answers and the labeling
/// service find a pair again.
///
/// Kept structured (an algorithm name shared by every pair, and three integers) so that the
/// simulated hot path, which makes millions of pairs and never reads their names, formats
/// nothing; ``description`` renders the text where it is needed.
public struct ComparisonKey: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The algorithm's name (or a whole free-form key, with ``form`` `.text`).
    public var name: String
    /// The iteration t or the round's stream r.
    public var index: UInt64
    /// The block b (ZPG, ZBCPG), nil for round-based keys.
    public var block: Int?
    /// The pair n within the iteration's block or the round.
    public var pair: Int
    /// How the key reads.
    public var form: Form

    /// The three forms of a key.
    public enum Form: Sendable, Hashable {
        /// `name/t<index>/b<block>/n<pair>`.
        case iteration
        /// `name/r<index>/n<pair>`.
        case round
        /// `name` as it is.
        case text
    }

    /// The key of pair `pair` of block `block` in iteration `iteration` (ZPG, ZBCPG).
    @inlinable
    public init(algorithm: String, iteration: Int, block: Int, pair: Int) {
        name = algorithm
        index = UInt64(iteration)
        self.block = block
        self.pair = pair
        form = .iteration
    }

    /// The key of pair `pair` of round `round` (the reward-learning methods' collection).
    @inlinable
    public init(algorithm: String, round: UInt64, pair: Int) {
        name = algorithm
        index = round
        block = nil
        self.pair = pair
        form = .round
    }

    /// A free-form key, read as it is.
    @inlinable
    public init(_ text: String) {
        name = text
        index = 0
        block = nil
        pair = 0
        form = .text
    }

    @inlinable
    public init(stringLiteral value: String) { self.init(value) }

    /// The key's text.
    public var description: String {
        switch form {
        case .iteration: return "\(name)/t\(index)/b\(block ?? 0)/n\(pair)"
        case .round: return "\(name)/r\(index)/n\(pair)"
        case .text: return name
        }
    }
}
