#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A Monte-Carlo estimate with its standard error.
public struct Estimate: Sendable, Equatable, Codable {
    /// The sample mean.
    public var mean: Double
    /// The standard error of the mean, s/√n.
    public var standardError: Double
    /// Number of samples n.
    public var count: Int

    /// Creates an estimate from its parts.
    public init(mean: Double, standardError: Double, count: Int) {
        self.mean = mean
        self.standardError = standardError
        self.count = count
    }

    /// The estimate of the mean of `samples`.
    public init(samples: [Double]) {
        var acc = RunningMoments()
        for x in samples { acc.add(x) }
        self = acc.estimate
    }
}

/// Running mean and variance (Welford), mergeable (Chan et al.) in a fixed order.
public struct RunningMoments: Sendable, Equatable {
    /// Number of values seen.
    public private(set) var count = 0
    /// Their mean.
    public private(set) var mean = 0.0
    /// Sum of squared deviations from the mean.
    public private(set) var m2 = 0.0

    /// An empty accumulator.
    public init() {}

    /// Adds one value.
    public mutating func add(_ x: Double) {
        count += 1
        let delta = x - mean
        mean += delta / Double(count)
        m2 += delta * (x - mean)
    }

    /// Merges another accumulator into this one.
    public mutating func merge(_ other: RunningMoments) {
        guard other.count > 0 else { return }
        guard count > 0 else { self = other; return }
        let n = Double(count + other.count)
        let delta = other.mean - mean
        mean += delta * Double(other.count) / n
        m2 += other.m2 + delta * delta * Double(count) * Double(other.count) / n
        count += other.count
    }

    /// The sample variance (n − 1 in the denominator).
    public var variance: Double { count > 1 ? m2 / Double(count - 1) : 0 }

    /// The mean with its standard error.
    public var estimate: Estimate {
        Estimate(mean: mean, standardError: count > 0 ? (variance / Double(count)).squareRoot() : .nan, count: count)
    }
}

/// Monte-Carlo evaluation of a policy by rollouts, single-threaded or in parallel.
public enum MonteCarlo {
    /// Episodes per work item. Fixed, so that the split — and so every number — is the same on
    /// any number of cores.
    public static let chunkSize = 256

    /// The mean return of `episodes` rollouts with its standard error, and the steps taken,
    /// using up to `threads` worker tasks (a TaskGroup); chunk c draws from stream (seed, c).
    @inlinable
    public static func evaluate<E: Environment, F: PolicyFamily>(
        _ env: E, family: F, parameters: [Double], episodes: Int, seed: UInt64, threads: Int
    ) async -> (value: Estimate, steps: Int) where F.State == E.State {
        let theta = parameters
        return combine(await runChunks((episodes + chunkSize - 1) / chunkSize, threads: threads) { c in
            runChunk(env, family: family, theta: theta, chunk: c, episodes: episodes, seed: seed)
        })
    }

    /// Runs `body` on work items 0..<count with up to `threads` worker tasks (a TaskGroup;
    /// inline when `threads` ≤ 1) and returns the results in item order.
    @inlinable
    static func runChunks<T: Sendable>(_ count: Int, threads: Int, _ body: @escaping @Sendable (Int) -> T) async -> [T] {
        var results = [T?](repeating: nil, count: count)
        if threads <= 1 {
            for c in 0..<count { results[c] = body(c) }
        } else {
            await withTaskGroup(of: (Int, T).self) { group in
                var next = 0
                func launch() {
                    let c = next
                    next += 1
                    group.addTask { (c, body(c)) }
                }
                for _ in 0..<min(threads, count) { launch() }
                for await (c, r) in group {
                    results[c] = r
                    if next < count { launch() }
                }
            }
        }
        return results.map { $0! }
    }

    /// The same evaluation as ``evaluate(_:family:parameters:episodes:seed:threads:)`` (identical
    /// numbers), run synchronously on up to `threads` threads with ``Parallel/map(_:threads:_:)``:
    /// for evaluation points inside a training loop.
    @inlinable
    public static func evaluateSync<E: EpisodicEnvironment, F: EpisodicPolicyFamily>(
        _ env: E, family: F, parameters: [Double], episodes: Int, seed: UInt64, threads: Int
    ) -> (value: Estimate, steps: Int) where F.State == E.State, F.Action == E.Action {
        let chunks = (episodes + chunkSize - 1) / chunkSize
        let results = Parallel.map(chunks, threads: threads) { c in
            runChunk(env, family: family, theta: parameters, chunk: c, episodes: episodes, seed: seed)
        }
        return combine(results)
    }

    /// The default number of episodes the batched evaluation advances together. CartPole with
    /// the 4-16-2 tanh MLP (`rlhf bench --cartpole-only --batch-width B`, best of 3, one core):
    /// B = 64, 128, 256 and 512 all run at 8.0–8.6 M steps/s within noise, B = 8 at 6.9 M and
    /// B = 1024 at 6.0 M (its activations leave L1). 128 sits in the middle of the flat range,
    /// keeps a 16-wide hidden layer's activations (16 KB) in L1, and drains in few steps.
    public static let defaultBatchWidth = 128

    /// The mean return of `episodes` rollouts with its standard error, and the steps taken, run
    /// by the lock-step batched engine
    /// (``EpisodicEnvironment/runEpisodes(_:generators:width:recorders:myopicDiscount:)``) with
    /// the family's batch actor: up to `width` episodes advance together, their policy evaluated
    /// in one batched pass per step.
    ///
    /// The split into chunks of ``chunkSize`` episodes is that of
    /// ``evaluate(_:family:parameters:episodes:seed:threads:)``, but every episode has its own
    /// stream: episode j of chunk c draws from (seed, c, j). So the numbers differ from
    /// `evaluate`'s (whose chunk c draws all its episodes in sequence from stream (seed, c)) —
    /// they are statistically the same estimate — and they depend neither on `threads` nor on
    /// `width`: each chunk's returns are added in episode order, the chunks merged in order.
    ///
    /// A work item is a run of up to ``batchedGroupChunks`` consecutive chunks (fewer when that
    /// leaves threads idle) rolled out by ONE engine call, whose batch is refilled across chunk
    /// boundaries: it drains (runs below `width`) once per item instead of once per chunk.
    @inlinable
    public static func evaluateBatched<E: Environment, F: BatchPolicyFamily>(
        _ env: E, family: F, parameters: [Double], episodes: Int, seed: UInt64, threads: Int,
        width: Int = defaultBatchWidth
    ) async -> (value: Estimate, steps: Int) where F.State == E.State {
        let theta = parameters
        let groups = batchedGroups(chunks: (episodes + chunkSize - 1) / chunkSize, threads: threads)
        let results = await runChunks(groups.count, threads: threads) { g in
            runBatchedChunks(env, family: family, theta: theta, chunks: groups[g], episodes: episodes, seed: seed, width: width)
        }
        return combine(results.flatMap { $0 })
    }

    /// Most chunks one work item of a batched evaluation holds (64 × 256 episodes).
    public static let batchedGroupChunks = 64

    /// Consecutive runs of chunks, the work items of a batched evaluation: as few as
    /// ``batchedGroupChunks`` allows, but at least two per thread when `threads` > 1 (so that
    /// the TaskGroup can balance them), nearly equal in size.
    @inlinable
    static func batchedGroups(chunks: Int, threads: Int) -> [Range<Int>] {
        guard chunks > 0 else { return [] }
        var count = (chunks + batchedGroupChunks - 1) / batchedGroupChunks
        if threads > 1 { count = max(count, min(chunks, 2 * threads)) }
        return (0..<count).map { g in (g * chunks / count)..<((g + 1) * chunks / count) }
    }

    /// The same evaluation as ``evaluateBatched(_:family:parameters:episodes:seed:threads:width:)``
    /// (identical numbers), run synchronously on up to `threads` threads with ``Parallel/map(_:threads:_:)``.
    @inlinable
    public static func evaluateBatchedSync<E: Environment, F: BatchPolicyFamily>(
        _ env: E, family: F, parameters: [Double], episodes: Int, seed: UInt64, threads: Int,
        width: Int = defaultBatchWidth
    ) -> (value: Estimate, steps: Int) where F.State == E.State {
        let groups = batchedGroups(chunks: (episodes + chunkSize - 1) / chunkSize, threads: threads)
        return combine(Parallel.map(groups.count, threads: threads) { g in
            runBatchedChunks(env, family: family, theta: parameters, chunks: groups[g], episodes: episodes, seed: seed, width: width)
        }.flatMap { $0 })
    }

    /// Rolls out the chunks `chunks` of a batched evaluation in one engine call (episode j of
    /// chunk c from stream (seed, c, j)) and returns each chunk's moments and steps, in order.
    @inlinable
    static func runBatchedChunks<E: Environment, F: BatchPolicyFamily>(
        _ env: E, family: F, theta: [Double], chunks: Range<Int>, episodes: Int, seed: UInt64, width: Int
    ) -> [(RunningMoments, Int)] where F.State == E.State {
        let start = chunks.lowerBound * chunkSize, end = min(episodes, chunks.upperBound * chunkSize)
        guard end > start else { return chunks.map { _ in (RunningMoments(), 0) } }
        var generators = (start..<end).map { e in
            Xoshiro256(seed: seed, stream: UInt64(e / chunkSize), UInt64(e % chunkSize))
        }
        var actor = theta.withUnsafeBufferPointer { family.makeBatchActor($0, capacity: min(width, end - start)) }
        let summaries = env.rollouts(&actor, generators: &generators, width: width)
        return chunks.map { c in
            var m = RunningMoments()
            var steps = 0
            for e in max(start, c * chunkSize)..<min(end, (c + 1) * chunkSize) {
                m.add(summaries[e - start].totalReturn)
                steps += summaries[e - start].steps
            }
            return (m, steps)
        }
    }

    /// Merges the chunks' moments and step counts in chunk order (the order fixes the rounding).
    @usableFromInline
    static func combine(_ results: [(RunningMoments, Int)]) -> (value: Estimate, steps: Int) {
        var total = RunningMoments()
        var steps = 0
        for r in results { total.merge(r.0); steps += r.1 }
        return (total.estimate, steps)
    }

    /// Rolls out chunk `c` of an evaluation.
    @inlinable
    static func runChunk<E: EpisodicEnvironment, F: EpisodicPolicyFamily>(
        _ env: E, family: F, theta: [Double], chunk c: Int, episodes: Int, seed: UInt64
    ) -> (RunningMoments, Int) where F.State == E.State, F.Action == E.Action {
        var rng = Xoshiro256(seed: seed, stream: UInt64(c))
        var actor = theta.withUnsafeBufferPointer { family.makeActor($0) }
        var m = RunningMoments()
        var steps = 0
        let end = min(episodes, (c + 1) * chunkSize)
        for _ in (c * chunkSize)..<end {
            let e = env.rollout(&actor, using: &rng)
            m.add(e.totalReturn)
            steps += e.steps
        }
        return (m, steps)
    }
}
