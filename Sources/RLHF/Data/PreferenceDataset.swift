import Foundation

/// One labeled comparison: two trajectories and the panel's soft label.
public struct PreferencePair<State: Codable & Sendable>: Codable, Sendable {
    /// τ0.
    public var first: Trajectory<State>
    /// τ1.
    public var second: Trajectory<State>
    /// p̂: the fraction of evaluators who preferred τ1 (untrimmed; a soft label in [0, 1]).
    public var label: Double
    /// Number of evaluators asked (queries paid for this pair).
    public var evaluators: Int

    /// Creates a pair.
    public init(first: Trajectory<State>, second: Trajectory<State>, label: Double, evaluators: Int) {
        self.first = first
        self.second = second
        self.label = label
        self.evaluators = evaluators
    }
}

/// A growing set of labeled pairs, saved and loaded as JSON Lines (one pair an object a line),
/// so that a dataset can be reused across runs and inspected with any JSON tool.
public struct PreferenceDataset<State: Codable & Sendable>: Sendable {
    /// The pairs, in the order they were collected.
    public var pairs: [PreferencePair<State>] = []
    /// Queries paid for (skipped pairs included).
    public var queriesPaid: Int = 0

    /// An empty dataset.
    public init() {}

    /// Number of pairs.
    public var count: Int { pairs.count }

    /// Samples `count` pairs with both trajectories from `actor0` and `actor1` (the same policy
    /// for RM + PPO and DPO), asks `source` (the panel when nil) about all of them at once, pays
    /// M queries a pair through `ledger`, and appends the judged pairs. Pair n draws from stream
    /// (seed, stream, n) and is named `<name>/r<stream>/n<n>`.
    ///
    /// - Parameter segmentLength: when set, each trajectory is cut to a segment of this many
    ///   steps with a uniform start (``Trajectory/randomSegment(length:discount:myopicDiscount:using:)``,
    ///   drawn after both rollouts) and the evaluators judge the segments; the pair stores the
    ///   segments. nil: whole trajectories (no extra draws).
    /// - Returns: the environment steps taken (whole rollouts, segments or not).
    @discardableResult
    public mutating func collect<E: Environment, A: PolicyActor>(
        _ count: Int, env: E, actor0: inout A, actor1: inout A, panel: EvaluatorPanel,
        source: (any PreferenceSource)? = nil, name: String = "pairs",
        ledger: inout QueryLedger, seed: UInt64, stream: UInt64, segmentLength: Int? = nil
    ) throws -> Int where E.State == State, A.State == State {
        try collect(count, env: env, actor0: &actor0, actor1: &actor1, recorder: TrajectoryRecorder<State>.self, panel: panel,
                    source: source, name: name, ledger: &ledger, seed: seed, stream: stream, segmentLength: segmentLength)
    }

    /// ``collect(_:env:actor0:actor1:panel:source:name:ledger:seed:stream:segmentLength:)`` on
    /// any action space: each rollout is recorded by an `R` (``BoxTrajectoryRecorder`` keeps a
    /// box's action vectors).
    @discardableResult
    public mutating func collect<E: EpisodicEnvironment, A: EpisodicActor, R: TrajectoryRecording>(
        _ count: Int, env: E, actor0: inout A, actor1: inout A, recorder: R.Type, panel: EvaluatorPanel,
        source: (any PreferenceSource)? = nil, name: String = "pairs",
        ledger: inout QueryLedger, seed: UInt64, stream: UInt64, segmentLength: Int? = nil
    ) throws -> Int where E.State == State, A.State == State, A.Action == E.Action, R.State == State, R.Action == E.Action {
        let source = try checkedSource(source, panel: panel)
        try ledger.charge(count * panel.queriesPerPair, for: "labelling \(count) pairs")
        queriesPaid += count * panel.queriesPerPair
        var steps = 0
        let gammaM = panel.teacher.myopicDiscount, gamma = env.discount, display = source.needsTrajectories
        var proposed = [(Trajectory<State>, Trajectory<State>)](), requests = [ComparisonRequest]()
        proposed.reserveCapacity(count)
        requests.reserveCapacity(count)
        var failure: (any Error)?
        for n in 0..<count {
            var rng = Xoshiro256(seed: seed, stream: stream, UInt64(n))
            var r0 = R(for: env), r1 = R(for: env)
            var t0: Trajectory<State>?, t1: Trajectory<State>?
            let (request, taken) = env.proposeComparison(key: ComparisonKey(algorithm: name, round: stream, pair: n), &actor0, &actor1, recorders: &r0, &r1,
                                                         myopicDiscount: gammaM, using: &rng) { s0, r0, s1, r1, rng in
                var whole0 = r0.trajectory(s0), whole1 = r1.trajectory(s1)
                if let length = segmentLength {
                    whole0 = whole0.randomSegment(length: length, discount: gamma, myopicDiscount: gammaM, using: &rng)
                    whole1 = whole1.randomSegment(length: length, discount: gamma, myopicDiscount: gammaM, using: &rng)
                }
                t0 = whole0
                t1 = whole1
                var json: (Data, Data)?
                if display {
                    do { json = (try whole0.displayJSON(), try whole1.displayJSON()) } catch { failure = error }
                }
                return (whole0.shown, whole1.shown, json)
            }
            if let failure { throw failure }
            steps += taken
            proposed.append((t0!, t1!))
            requests.append(request)
        }
        let rates = try askSource(requests, by: source)
        for (n, rate) in rates.enumerated() {
            if let p = rate {
                pairs.append(PreferencePair(first: proposed[n].0, second: proposed[n].1, label: p, evaluators: panel.evaluators))
            }
        }
        return steps
    }

    /// Writes the dataset as JSON Lines.
    public func save(to path: String) throws {
        let encoder = RunOutput.encoder(pretty: false)
        var data = Data()
        for p in pairs {
            data.append(try encoder.encode(p))
            data.append(0x0A)
        }
        try RunOutput.write(data, to: path)
    }

    /// Reads a dataset written by ``save(to:)``; a bad line is reported by its number.
    public static func load(from path: String) throws -> PreferenceDataset {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RLHFError.io(path: path, message: "cannot read the dataset")
        }
        let decoder = RunOutput.decoder()
        var set = PreferenceDataset()
        for (i, line) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            do {
                let pair = try decoder.decode(PreferencePair<State>.self, from: Data(line))
                set.pairs.append(pair)
                set.queriesPaid += pair.evaluators
            } catch {
                throw RLHFError.io(path: path, message: "line \(i + 1) is not a preference pair (\(error))")
            }
        }
        return set
    }
}
