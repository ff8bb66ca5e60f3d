import Foundation

/// One pair an algorithm wants judged, as a ``PreferenceSource`` is asked about it.
///
/// The algorithm rolls the pair out (``EpisodicEnvironment/proposeComparison(key:_:_:recorders:myopicDiscount:using:shown:)``)
/// and hands the request to its source; the source answers with p̂, the fraction of its M
/// answers that prefer τ¹.
public struct ComparisonRequest: Sendable {
    /// The pair's name within the run, unique and the same every time the run is repeated or
    /// resumed (`zpg/t3/b0/n5`, `rm-ppo/r2/n17`): what makes asking twice idempotent.
    public var key: ComparisonKey
    /// What a simulated evaluator perceives of τ⁰: its return and myopic return.
    public var first: ShownTrajectory
    /// What a simulated evaluator perceives of τ¹.
    public var second: ShownTrajectory
    /// The pair's generator at the moment the panel draws its answers. The in-process panel
    /// draws from it; a request sent elsewhere carries its state (``Xoshiro256/stateHex``) so
    /// that seeded simulated annotators there draw the same numbers.
    public var answerStream: Xoshiro256
    /// Both trajectories as JSON objects (`states`, `actions`, `rewards`, snake_case keys), for
    /// sources that show them to people; nil when the source does not need them
    /// (``PreferenceSource/needsTrajectories``), so the simulated hot path records nothing.
    public var trajectories: (first: Data, second: Data)?

    /// Creates a request.
    @inlinable
    public init(key: ComparisonKey, first: ShownTrajectory, second: ShownTrajectory, answerStream: Xoshiro256,
                trajectories: (first: Data, second: Data)? = nil) {
        self.key = key
        self.first = first
        self.second = second
        self.answerStream = answerStream
        self.trajectories = trajectories
    }
}

/// Whatever answers an algorithm's comparisons: the simulated ``EvaluatorPanel`` (in process,
/// at once), a replay of answers recorded earlier (``RecordedPreferences``), or people behind
/// the labeling service (the `RLHFService` module's client).
///
/// Every algorithm of the toolkit asks its source in batches: it rolls out all the pairs of
/// an iteration (ZPG, ZBCPG) or a round (RM + PPO, DPO, online DPO, the bilevel method), asks
/// for all of them at once, and waits until every one is answered. A source that answers
/// asynchronously (people) gets a whole batch to hand out at the same time.
public protocol PreferenceSource: Sendable {
    /// M: the answers one pair gets, and the queries it costs.
    var answersPerPair: Int { get }
    /// Whether requests must carry the trajectories themselves (a person must see them).
    var needsTrajectories: Bool { get }
    /// Answers every request: p̂ ∈ [0, 1], the fraction of M answers preferring τ¹ (a tie
    /// counts half), or nil when the pair was skipped (its queries are spent either way). Blocks
    /// until all are answered; throws if they cannot be.
    func judge(_ requests: [ComparisonRequest]) throws -> [Double?]
}

extension PreferenceSource {
    public var needsTrajectories: Bool { false }
}

extension EvaluatorPanel: PreferenceSource {
    /// M.
    @inlinable public var answersPerPair: Int { evaluators }

    /// The simulated panel's answers: each pair's M votes drawn from its own answer stream,
    /// exactly as ``preferenceRate(_:_:using:)`` draws them right after the rollouts.
    @inlinable
    public func judge(_ requests: [ComparisonRequest]) -> [Double?] {
        requests.map { r in
            var rng = r.answerStream
            return preferenceRate(r.first, r.second, using: &rng)
        }
    }

    /// One simulated annotator's answer to slot `slot` of a pair: τ¹ preferred when the
    /// (slot + 1)-th uniform of the pair's answer stream is below P(τ¹ ≻ τ⁰) — the vote the
    /// in-process panel casts as its evaluator `slot` — so that M annotators answering the M
    /// slots reproduce the panel's p̂ whichever of them answers which slot. nil: the teacher
    /// skips the pair. (A ``noiseless`` panel has no votes: its p̂ is σ itself.)
    public func vote(slot: Int, _ t0: ShownTrajectory, _ t1: ShownTrajectory, answerStream: Xoshiro256) -> Bool? {
        guard let p = answerProbability(t0, t1) else { return nil }
        var rng = answerStream
        for _ in 0..<slot { _ = rng.next() }
        return rng.uniform() < p
    }
}

/// `source`, or `panel` when nil, once checked to give the panel's M answers a pair (the
/// ledger charges M queries a pair, so any other count would miscount them).
func checkedSource(_ source: (any PreferenceSource)?, panel: EvaluatorPanel) throws -> any PreferenceSource {
    guard let source else { return panel }
    guard source.answersPerPair == panel.evaluators else {
        throw RLHFError.invalidArgument(name: "feedback", message: "the preference source gives \(source.answersPerPair) answers a pair; the run's panel has M = \(panel.evaluators) evaluators")
    }
    return source
}
