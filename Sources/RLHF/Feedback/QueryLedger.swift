/// The account of human queries (spec §3): one query is one evaluator's answer on one pair.
///
/// Every algorithm pays through a ledger before it asks, so none can spend more than its
/// budget, and every result reports the queries it used.
public struct QueryLedger: Sendable, Equatable, Codable {
    /// The budget: the most queries the run may use.
    public let budget: Int
    /// Queries used so far.
    public private(set) var used: Int

    /// Creates a ledger with nothing spent.
    public init(budget: Int, used: Int = 0) throws {
        try Validate.atLeast(budget, 1, "query budget", atMost: Limits.budget)
        guard used >= 0 && used <= budget else {
            throw RLHFError.invalidArgument(name: "queries used", message: "\(used) is outside 0…\(budget)")
        }
        self.budget = budget
        self.used = used
    }

    /// Queries still available.
    @inlinable public var remaining: Int { budget - used }

    /// Whether `queries` more can be paid for.
    @inlinable public func canAfford(_ queries: Int) -> Bool { queries <= remaining }

    /// Pays for `queries` queries, or throws ``RLHFError/budgetTooSmall(budget:needed:what:)``
    /// without spending anything if they exceed what remains.
    public mutating func charge(_ queries: Int, for what: String) throws {
        precondition(queries >= 0, "a charge cannot be negative")
        guard queries <= remaining else {
            throw RLHFError.budgetTooSmall(budget: budget, needed: used + queries, what: what)
        }
        used += queries
    }
}
