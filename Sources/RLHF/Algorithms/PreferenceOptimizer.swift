/// An algorithm that improves a policy by paying for preference queries, one iteration at a time.
///
/// The training loop (``TrainingLoop``) owns the ledger, the evaluation schedule, progress and
/// checkpoints; an optimizer only says what one iteration costs and performs it.
public protocol PreferenceOptimizer {
    /// The policy parameters θ (one flat vector): what is evaluated and checkpointed.
    var parameters: [Double] { get set }
    /// Queries iteration `t` will charge; the loop stops when fewer remain. May be 0 for an
    /// iteration that only trains on feedback already paid for (then ``iterationLimit`` must
    /// end the run).
    func queries(forIteration t: Int) -> Int
    /// The run ends after this many iterations even with budget left (nil: only the budget ends it).
    var iterationLimit: Int? { get }
    /// Whether a run can be resumed from ``parameters`` alone (true for the zeroth-order methods,
    /// whose only state is θ; false for methods with reward models, critics or datasets).
    var resumableFromParameters: Bool { get }
    /// Performs iteration `t` (0-based), paying through `ledger`; returns the environment steps
    /// it took. Everything random in it is drawn from generators seeded by (seed, t, …), so an
    /// iteration's result depends only on its state, t and the seed.
    mutating func iterate(_ t: Int, ledger: inout QueryLedger) throws -> Int
    /// Extra figures for the run's summary, by name (e.g. the bilevel method's second policy's
    /// value and its reward's agreement with the true preferences); `value` gives the value of
    /// a parameter vector. Figures named `…_value` also get a `…_normalized` twin.
    func summaryFigures(value: ([Double]) -> Double) -> [String: Double]
    /// The algorithm's diagnostics since the previous evaluation point (means over the
    /// iterations in between, see ``DiagnosticAccumulator``), and a reset: the training loop
    /// calls it at every evaluation point and stores them in the point's record. Every
    /// algorithm documents its set in its hyperparameters' file; none reports nothing.
    mutating func takeDiagnostics() -> [Diagnostic]
}

extension PreferenceOptimizer {
    public var iterationLimit: Int? { nil }
    public var resumableFromParameters: Bool { false }
    public func summaryFigures(value: ([Double]) -> Double) -> [String: Double] { [:] }
    public mutating func takeDiagnostics() -> [Diagnostic] { [] }
}

/// One block's zeroth-order estimate: Δ̂ averaged over the judged pairs, with the direction.
struct BlockEstimate {
    /// Mean of Δ̂ over the pairs the panel judged (0 if every pair was skipped).
    var meanDifference: Double
    /// Pairs judged (skipped pairs excluded).
    var judgedPairs: Int
    /// Σ |Δ̂| over the judged pairs.
    var absoluteDifferenceSum: Double
    /// Judged pairs whose p̂ was exactly ½ (Δ̂ = 0: the pair moved nothing).
    var tiedPairs: Int
    /// Environment steps taken by the 2N rollouts.
    var steps: Int
}

/// Reusable buffers and actors of one block's worker, so that iterations allocate nothing.
final class ZerothOrderWorker<F: EpisodicPolicyFamily>: @unchecked Sendable {
    /// v, a unit vector over the block's coordinates.
    var direction: [Double]
    /// θ + μ v.
    var perturbed: [Double]
    /// π_θ.
    var base: F.Actor
    /// π_{θ+μv}.
    var candidate: F.Actor

    init(family: F, blockSize: Int) {
        direction = [Double](repeating: 0, count: blockSize)
        perturbed = [Double](repeating: 0, count: family.parameterCount)
        // Two separately made actors: an actor may own scratch buffers that copies would share.
        base = perturbed.withUnsafeBufferPointer { family.makeActor($0) }
        candidate = perturbed.withUnsafeBufferPointer { family.makeActor($0) }
    }
}

/// The first half of the zeroth-order estimate shared by ZPG and ZBCPG (spec §4, steps 1–2):
/// the pairs of one block, rolled out and ready to be judged.
///
/// Draws v uniformly from the unit sphere of the block's coordinates (stream (seed, t, b)),
/// perturbs θ' = θ + μ v, and for n = 1…N rolls out τ⁰ ~ π_θ and τ¹ ~ π_θ' from stream
/// (seed, t, b, n); v is left in the worker. Pair n's key is `<name>/t<t>/b<b>/n<n>`. With
/// `display`, each request carries both trajectories' JSON (for a source that shows them to
/// people); otherwise nothing is recorded.
func proposeBlock<E: EpisodicEnvironment, F: EpisodicPolicyFamily>(
    env: E, family: F, myopicDiscount: Double, display: Bool, theta: UnsafeBufferPointer<Double>,
    coordinates: [Int], mu: Double, pairs: Int, seed: UInt64, iteration t: Int, block b: Int,
    name: String, worker: ZerothOrderWorker<F>
) -> Result<(requests: [ComparisonRequest], steps: Int), any Error> where F.State == E.State, F.Action == E.Action {
    var rng = Xoshiro256(seed: seed, stream: UInt64(t), UInt64(b))
    worker.direction.withUnsafeMutableBufferPointer { rng.fillUnitSphere($0) }
    for i in 0..<theta.count { worker.perturbed[i] = theta[i] }
    for (i, c) in coordinates.enumerated() { worker.perturbed[c] += mu * worker.direction[i] }
    family.update(&worker.base, to: theta)
    worker.perturbed.withUnsafeBufferPointer { family.update(&worker.candidate, to: $0) }

    var requests = [ComparisonRequest](), steps = 0
    requests.reserveCapacity(pairs)
    do {
        for n in 0..<pairs {
            var pairRng = Xoshiro256(seed: seed, stream: UInt64(t), UInt64(b), UInt64(n + 1))
            let key = ComparisonKey(algorithm: name, iteration: t, block: b, pair: n)
            if display {
                var r0 = DisplayRecorder<E.State, E.Action>(), r1 = DisplayRecorder<E.State, E.Action>()
                var failure: (any Error)?
                let (request, taken) = env.proposeComparison(key: key, &worker.base, &worker.candidate, recorders: &r0, &r1,
                                                             myopicDiscount: myopicDiscount, using: &pairRng) { a, r0, b, r1, _ in
                    do { return (a.shown, b.shown, (try r0.json(), try r1.json())) } catch { failure = error; return (a.shown, b.shown, nil) }
                }
                if let failure { throw failure }
                requests.append(request)
                steps += taken
            } else {
                var none0 = NoRecording<E.State, E.Action>(), none1 = NoRecording<E.State, E.Action>()
                let (request, taken) = env.proposeComparison(key: key, &worker.base, &worker.candidate, recorders: &none0, &none1,
                                                             myopicDiscount: myopicDiscount, using: &pairRng) { a, _, b, _, _ in
                    (a.shown, b.shown, nil)
                }
                requests.append(request)
                steps += taken
            }
        }
    } catch {
        return .failure(error)
    }
    return .success((requests, steps))
}

/// The second half (spec §4, step 3's Δ̂): the mean of Δ̂ = σ⁻¹(trim(p̂)) over the pairs the
/// source judged, the link inverted by `panel` (the model of the evaluators).
func estimateBlock(rates: ArraySlice<Double?>, panel: EvaluatorPanel, steps: Int) -> BlockEstimate {
    var sum = 0.0, absoluteSum = 0.0, judged = 0, tied = 0
    for case let rate? in rates {
        let delta = panel.estimatedDifference(rate: rate)
        sum += delta
        absoluteSum += abs(delta)
        judged += 1
        if rate == 0.5 { tied += 1 }
    }
    return BlockEstimate(meanDifference: judged > 0 ? sum / Double(judged) : 0, judgedPairs: judged,
                         absoluteDifferenceSum: absoluteSum, tiedPairs: tied, steps: steps)
}

/// Asks `source` about `requests` and checks its answer: one p̂ per request, each in [0, 1].
func askSource(_ requests: [ComparisonRequest], by source: any PreferenceSource) throws -> [Double?] {
    let rates = try source.judge(requests)
    guard rates.count == requests.count else {
        throw RLHFError.invalidArgument(name: "feedback", message: "the preference source answered \(rates.count) of \(requests.count) pairs")
    }
    for (i, r) in rates.enumerated() {
        if let r, !(0...1).contains(r) {
            throw RLHFError.invalidArgument(name: "feedback", message: "the preference source answered p̂ = \(r) for pair '\(requests[i].key)' (it must be in [0, 1])")
        }
    }
    return rates
}

extension DiagnosticAccumulator {
    /// ZPG's and ZBCPG's figures of one iteration's blocks: `abs_delta`, the mean |Δ̂| of a
    /// judged pair (the size of the signal the panel gives); `tied_share`, the share of judged
    /// pairs with p̂ = ½ exactly (no signal: on GridWorlds both trajectories often tie);
    /// `skipped_share`, the share of pairs the teacher skipped; `mean_delta`, the mean Δ̂.
    mutating func addZerothOrder(_ estimates: [BlockEstimate], pairsAsked: Int) {
        var judged = 0, tied = 0, absolute = 0.0, total = 0.0
        for e in estimates {
            judged += e.judgedPairs
            tied += e.tiedPairs
            absolute += e.absoluteDifferenceSum
            total += e.meanDifference * Double(e.judgedPairs)
        }
        add("abs_delta", judged > 0 ? absolute / Double(judged) : .nan)
        add("mean_delta", judged > 0 ? total / Double(judged) : .nan)
        add("tied_share", judged > 0 ? Double(tied) / Double(judged) : .nan)
        add("skipped_share", pairsAsked > 0 ? Double(pairsAsked - judged) / Double(pairsAsked) : .nan)
    }
}
