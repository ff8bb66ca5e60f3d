/// A policy that chooses the actions of many episodes at once: what the lock-step engine
/// (``EpisodicEnvironment/runEpisodes(_:generators:width:recorders:myopicDiscount:)``) runs.
///
/// A neural policy answers a whole batch with one matrix product per layer instead of one
/// single-row pass per episode. Row i must draw from `rngs[i]` exactly what the single-episode
/// actor would draw in state `states[i]` (one uniform for the softmax actors), so that with one
/// generator per episode the batched run takes the same actions as
/// ``EpisodicEnvironment/runEpisode(_:recorder:myopicDiscount:using:)`` wherever the two compute
/// the same probabilities.
public protocol BatchEpisodicActor {
    /// The state type the policy reads.
    associatedtype State
    /// The action type it chooses.
    associatedtype Action
    /// Chooses one action for each of the `states.count` rows, row i drawing from `rngs[i]`.
    ///
    /// On return `actions` holds at least `states.count` elements, the first `states.count`
    /// being the rows' actions in row order. The actor may resize it; the engine passes the same
    /// array every step, so it grows once.
    mutating func actions(for states: UnsafeBufferPointer<State>, using rngs: UnsafeMutableBufferPointer<Xoshiro256>,
                          into actions: inout [Action])
}

/// Any single-episode actor as a batch actor: one ``EpisodicActor/action(in:using:)`` per row,
/// in row order (no speed-up; for policies that have no batched form).
public struct RowByRowActor<Base: EpisodicActor>: BatchEpisodicActor {
    public typealias State = Base.State
    public typealias Action = Base.Action
    /// The single-episode actor.
    public var base: Base

    /// Wraps `base`.
    @inlinable public init(_ base: Base) { self.base = base }

    @inlinable
    public mutating func actions(for states: UnsafeBufferPointer<Base.State>, using rngs: UnsafeMutableBufferPointer<Xoshiro256>,
                                 into actions: inout [Base.Action]) {
        actions.removeAll(keepingCapacity: true)
        for i in 0..<states.count { actions.append(base.action(in: states[i], using: &rngs[i])) }
    }
}

extension EpisodicEnvironment {
    /// The lock-step batched episode loop: runs one episode per generator of `generators`, up
    /// to `width` of them at a time, all active ones advancing one step together.
    ///
    /// Each step gathers the active episodes' states, asks `actor` for all their actions at once
    /// (``BatchEpisodicActor/actions(for:using:into:)``), then steps each episode with its own
    /// generator. A finished episode (terminal, or at the horizon) leaves the batch, and the next
    /// episode not yet started (if any) takes its place, so the batch stays full until the last
    /// `width` episodes. Episode i draws from `generators[i]` only, in the order of
    /// ``runEpisode(_:recorder:myopicDiscount:using:)`` (start, then per step the actor's draws
    /// and the environment's), so its summary does not depend on `width` nor on the other
    /// episodes, and equals what `runEpisode` gives from the same generator whenever the batch
    /// actor takes the same actions as the single-episode one. On return `generators[i]` is in
    /// the state `runEpisode` would leave it in.
    ///
    /// - Parameters:
    ///   - width: B, the number of episodes advanced together (at least 1; more than
    ///     `generators.count` is the same as `generators.count`).
    ///   - recorders: one recorder per episode (`generators.count` of them); step t of episode i
    ///     is recorded in `recorders[i]`.
    /// - Returns: each episode's summary, in generator order (same definitions as ``EpisodeSummary``,
    ///   accumulated by the same ``EpisodeAccumulator``).
    @inlinable
    public func runEpisodes<A: BatchEpisodicActor, R: EpisodeRecorder>(
        _ actor: inout A, generators: inout [Xoshiro256], width: Int, recorders: inout [R], myopicDiscount: Double = 1
    ) -> [EpisodeSummary] where A.State == State, A.Action == Action, R.State == State, R.Action == Action {
        let n = generators.count
        precondition(recorders.count == n, "runEpisodes: \(recorders.count) recorders for \(n) episodes")
        precondition(width >= 1, "runEpisodes: the width must be at least 1")
        var summaries = [EpisodeSummary](repeating: EpisodeSummary(totalReturn: 0, myopicReturn: 0, steps: 0), count: n)
        guard n > 0 else { return summaries }
        let h = horizon, gamma = discount
        if h <= 0 {
            // As runEpisode: the start is drawn, no step is taken.
            for i in 0..<n { _ = reset(using: &generators[i]) }
            return summaries
        }
        let w = min(width, n)
        // Slot storage: the active episodes occupy slots 0..<active, in order of their start.
        let states = UnsafeMutablePointer<State>.allocate(capacity: w)
        let rngs = UnsafeMutablePointer<Xoshiro256>.allocate(capacity: w)
        let ids = UnsafeMutablePointer<Int>.allocate(capacity: w)
        let sums = UnsafeMutablePointer<EpisodeAccumulator>.allocate(capacity: w)
        defer {
            states.deinitialize(count: w)
            states.deallocate(); rngs.deallocate(); ids.deallocate(); sums.deallocate()
        }
        let fresh = EpisodeAccumulator(discount: gamma, myopicDiscount: myopicDiscount)
        for i in 0..<w {
            var g = generators[i]
            (states + i).initialize(to: reset(using: &g))
            (rngs + i).initialize(to: g)
            (ids + i).initialize(to: i)
            (sums + i).initialize(to: fresh)
        }
        var next = w
        var active = w
        var actions: [Action] = []
        generators.withUnsafeMutableBufferPointer { gens in
            recorders.withUnsafeMutableBufferPointer { recs in
                summaries.withUnsafeMutableBufferPointer { out in
                    while active > 0 {
                        actor.actions(for: UnsafeBufferPointer(start: states, count: active),
                                      using: UnsafeMutableBufferPointer(start: rngs, count: active), into: &actions)
                        precondition(actions.count >= active, "runEpisodes: the batch actor returned too few actions")
                        var kept = 0
                        actions.withUnsafeBufferPointer { acts in
                            for i in 0..<active {
                                let a = acts[i]
                                let result = step(states[i], action: a, using: &rngs[i])
                                let id = ids[i]
                                recs[id].record(time: sums[i].steps, state: states[i], action: a, result: result)
                                var sum = sums[i]
                                if !sum.add(reward: result.reward, terminal: result.terminal) && sum.steps < h {
                                    // Still running: compact into slot `kept` (≤ i, already read).
                                    states[kept] = result.next
                                    rngs[kept] = rngs[i]
                                    ids[kept] = id
                                    sums[kept] = sum
                                    kept += 1
                                    continue
                                }
                                out[id] = sum.summary
                                gens[id] = rngs[i]
                                if next < n {
                                    var g = gens[next]
                                    states[kept] = reset(using: &g)
                                    rngs[kept] = g
                                    ids[kept] = next
                                    sums[kept] = fresh
                                    next += 1
                                    kept += 1
                                }
                            }
                        }
                        active = kept
                    }
                }
            }
        }
        return summaries
    }

    /// ``runEpisodes(_:generators:width:recorders:myopicDiscount:)`` with nothing recorded: each
    /// episode's summary, in generator order.
    @inlinable
    public func rollouts<A: BatchEpisodicActor>(_ actor: inout A, generators: inout [Xoshiro256], width: Int,
                                                myopicDiscount: Double = 1) -> [EpisodeSummary]
    where A.State == State, A.Action == Action {
        var none = [NoRecording<State, Action>](repeating: NoRecording(), count: generators.count)
        return runEpisodes(&actor, generators: &generators, width: width, recorders: &none, myopicDiscount: myopicDiscount)
    }
}
