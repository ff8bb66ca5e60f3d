#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One evaluation point of a run: where it stands after `iteration` iterations.
public struct TrainingRecord: Sendable, Codable, Equatable {
    /// Iterations completed.
    public var iteration: Int
    /// Queries used so far.
    public var queries: Int
    /// Environment steps taken so far (by the algorithm; evaluation is not counted).
    public var envSteps: Int
    /// The policy's value: exact on tabular environments, else a Monte-Carlo mean.
    public var value: Double
    /// Standard error of ``value`` (nil when exact).
    public var valueStandardError: Double?
    /// (V − V_uniform) / (V* − V_uniform).
    public var normalizedValue: Double
    /// Wall-clock seconds since the run started (excluding time before a resume).
    public var wallSeconds: Double
    /// The algorithm's figures over the iterations since the previous point
    /// (``PreferenceOptimizer/takeDiagnostics()``); nil in records written before they existed.
    public var diagnostics: [Diagnostic]? = nil
}

/// Everything needed to continue a run: because every iteration draws from streams seeded by
/// (seed, t, …), a run resumed from this state gives the same numbers as one never stopped.
public struct TrainingState: Sendable, Codable, Equatable {
    /// Iterations completed.
    public var iteration: Int
    /// Queries used.
    public var queriesUsed: Int
    /// Environment steps taken.
    public var envSteps: Int
    /// θ after ``iteration`` iterations.
    public var parameters: [Double]
    /// The evaluation points so far.
    public var records: [TrainingRecord]
    /// Wall-clock seconds spent before this state was saved.
    public var wallSeconds: Double
}

/// The outer loop every preference algorithm runs in: pay, iterate, evaluate, report, save.
public struct TrainingLoop {
    /// Evaluate every this many iterations (and at the start and the end).
    public var evaluateEvery: Int
    /// The value of a parameter vector, with its standard error if it is a Monte-Carlo estimate.
    public var evaluate: ([Double]) -> (value: Double, standardError: Double?)
    /// Turns a value into a normalized value.
    public var normalize: (Double) -> Double
    /// Called at every evaluation point with the record and the fraction of the budget used.
    public var onRecord: (TrainingRecord, Double) -> Void = { _, _ in }
    /// Called after every evaluation point with the state to save (for resuming).
    public var onCheckpoint: (TrainingState) throws -> Void = { _ in }

    /// Creates a loop.
    public init(evaluateEvery: Int, evaluate: @escaping ([Double]) -> (value: Double, standardError: Double?),
                normalize: @escaping (Double) -> Double) {
        self.evaluateEvery = max(1, evaluateEvery)
        self.evaluate = evaluate
        self.normalize = normalize
    }

    /// Runs `optimizer` until the ledger cannot pay for its next iteration or its iteration limit.
    ///
    /// - Parameter resume: a saved state to continue from (its θ replaces the optimizer's).
    /// - Throws: ``RLHFError/budgetTooSmall(budget:needed:what:)`` if not even one iteration fits,
    ///   ``RLHFError/diverged(iteration:message:)`` if θ or the value stops being finite.
    public func run<O: PreferenceOptimizer>(_ optimizer: inout O, ledger: inout QueryLedger,
                                            resume: TrainingState? = nil) throws -> TrainingState {
        if resume == nil && !ledger.canAfford(optimizer.queries(forIteration: 0)) {
            throw RLHFError.budgetTooSmall(budget: ledger.budget, needed: optimizer.queries(forIteration: 0), what: "one iteration")
        }
        if resume != nil && !optimizer.resumableFromParameters {
            throw RLHFError.invalidArgument(name: "resume", message: "this algorithm keeps state besides the policy parameters (reward model, critic or data) and cannot resume from a checkpoint yet")
        }
        let clock = Stopwatch()
        var state = resume ?? TrainingState(iteration: 0, queriesUsed: ledger.used, envSteps: 0,
                                            parameters: optimizer.parameters, records: [], wallSeconds: 0)
        if resume != nil {
            optimizer.parameters = state.parameters
            ledger = try QueryLedger(budget: ledger.budget, used: state.queriesUsed)
        }
        let startWall = state.wallSeconds

        func record() throws {
            let (v, se) = evaluate(optimizer.parameters)
            guard v.isFinite else {
                throw RLHFError.diverged(iteration: state.iteration, message: "the policy's value is \(v)")
            }
            let r = TrainingRecord(iteration: state.iteration, queries: ledger.used, envSteps: state.envSteps,
                                   value: v, valueStandardError: se, normalizedValue: normalize(v),
                                   wallSeconds: startWall + clock.seconds, diagnostics: optimizer.takeDiagnostics())
            state.records.append(r)
            state.parameters = optimizer.parameters
            state.queriesUsed = ledger.used
            state.wallSeconds = r.wallSeconds
            onRecord(r, Double(ledger.used) / Double(ledger.budget))
            try onCheckpoint(state)
        }

        func canContinue() -> Bool {
            if let limit = optimizer.iterationLimit, state.iteration >= limit { return false }
            return ledger.canAfford(optimizer.queries(forIteration: state.iteration))
        }
        if state.records.isEmpty { try record() }
        while canContinue() {
            let steps = try optimizer.iterate(state.iteration, ledger: &ledger)
            state.envSteps += steps
            state.iteration += 1
            if state.iteration % evaluateEvery == 0 || !canContinue() {
                if let bad = optimizer.parameters.firstIndex(where: { !$0.isFinite }) {
                    throw RLHFError.diverged(iteration: state.iteration,
                                             message: "parameter θ[\(bad)] is \(optimizer.parameters[bad])")
                }
                try record()
            }
        }
        if state.records.last?.iteration != state.iteration { try record() }
        return state
    }
}

/// Wall-clock time since creation, from the monotonic clock.
public struct Stopwatch: Sendable {
    let start: timespec

    /// Starts the watch.
    public init() {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        start = ts
    }

    /// Seconds elapsed.
    public var seconds: Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec - start.tv_sec) + Double(ts.tv_nsec - start.tv_nsec) * 1e-9
    }
}
