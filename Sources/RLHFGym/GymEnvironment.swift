import Foundation
import RLHF

/// Where an episode of a Gymnasium environment is: the worker slot that holds it, its time step
/// and the last observation (flattened; a Discrete observation is its index).
public struct GymState: Codable, Sendable, Equatable {
    /// The worker's environment that runs this episode.
    public var slot: Int
    /// Steps taken since the reset.
    public var time: Int
    /// The observation at `time`.
    public var observation: [Double]
}

/// The worker's slots and the bookkeeping that keeps episodes apart: a slot runs one episode at
/// a time (taken at reset, given back when the episode ends), and a state can be stepped once
/// (stepping a copy again is refused — a Gymnasium environment cannot branch).
///
/// The environment protocols do not throw, so a failure (the worker died, Gymnasium raised, an
/// observation is not finite) is kept here and the step reports an ended episode with a NaN
/// reward; ``failure`` is checked by the trainer before every checkpoint and at the end of the
/// run (``RegisteredEnvironment/sampled(name:summary:uniformEpisodes:check:make:)``), and by
/// every other caller of this module.
public final class GymSlots: @unchecked Sendable {
    /// The worker.
    public let worker: GymWorker
    /// H: the episode length at which the engine stops (Gymnasium's TimeLimit).
    public let horizon: Int
    let lock = NSLock()
    var free: [Int] = []
    var count = 0
    /// Per slot: the time of the episode it runs, -1 when free.
    var times: [Int] = []
    var firstFailure: GymError?

    /// Most slots (episodes open at once) a worker may hold.
    public static let maximumSlots = 4096

    init(worker: GymWorker, horizon: Int) {
        self.worker = worker
        self.horizon = horizon
    }

    /// The first failure of the worker or of the bookkeeping, if any.
    public var failure: GymError? { lock.withLock { firstFailure } ?? worker.failed }

    func fail(_ message: String) {
        lock.withLock { if firstFailure == nil { firstFailure = GymError(worker.name, message) } }
    }

    func fail(_ error: any Error) {
        lock.withLock { if firstFailure == nil { firstFailure = (error as? GymError) ?? GymError(worker.name, "\(error)") } }
    }

    /// A state that ends nothing well: what a step returns after a failure.
    func dead(_ slot: Int, _ time: Int) -> GymState {
        GymState(slot: slot, time: time, observation: [Double](repeating: .nan, count: worker.observationSize))
    }

    func acquire() -> Int? {
        lock.withLock {
            if let s = free.popLast() { times[s] = 0; return s }
            guard count < GymSlots.maximumSlots else { return nil }
            count += 1
            times.append(0)
            return count - 1
        }
    }

    func release(_ slot: Int) {
        lock.withLock {
            times[slot] = -1
            free.append(slot)
        }
    }

    /// Starts an episode: seed `rng.next() >> 1` (from the episode's stream, so a run is
    /// deterministic for its seed whatever slot runs it).
    func reset(using rng: inout Xoshiro256) -> GymState {
        let seed = rng.next() >> 1
        guard failure == nil else { return dead(0, 0) }
        guard let slot = acquire() else {
            fail("more than \(GymSlots.maximumSlots) episodes are open at once")
            return dead(0, 0)
        }
        do {
            let observation = try worker.reset(slots: [slot], seeds: [seed])
            guard observation.allSatisfy(\.isFinite) else {
                fail("the reset observation (seed \(seed)) is not finite: \(observation)")
                return dead(slot, 0)
            }
            return GymState(slot: slot, time: 0, observation: observation)
        } catch {
            fail(error)
            return dead(slot, 0)
        }
    }

    /// Takes one step of `state`'s episode with action row `action`.
    func step(_ state: GymState, action: [Double]) -> StepResult<GymState> {
        let t = state.time
        let current = lock.withLock { state.slot < times.count ? times[state.slot] : -2 }
        guard failure == nil else { return StepResult(next: dead(state.slot, t + 1), reward: .nan, terminal: true) }
        guard current == t else {
            fail("a state at step \(t) of slot \(state.slot) was stepped although its episode is at \(current) (a Gymnasium episode cannot branch)")
            return StepResult(next: dead(state.slot, t + 1), reward: .nan, terminal: true)
        }
        do {
            let out = try worker.step(slots: [state.slot], actions: action)
            let next = GymState(slot: state.slot, time: t + 1, observation: out.observations)
            guard out.observations.allSatisfy(\.isFinite), out.rewards[0].isFinite else {
                fail("step \(t + 1) of an episode gave a non-finite \(out.rewards[0].isFinite ? "observation" : "reward") (observation \(out.observations), reward \(out.rewards[0]))")
                release(state.slot)
                return StepResult(next: dead(state.slot, t + 1), reward: .nan, terminal: true)
            }
            // Terminated ends the episode; truncation by the TimeLimit is the engine's horizon
            // (not a terminal state). A wrapper that truncates earlier can only end the episode.
            let terminal = out.terminated[0] || (out.truncated[0] && t + 1 < horizon)
            if terminal || t + 1 >= horizon {
                release(state.slot)
            } else {
                lock.withLock { times[state.slot] = t + 1 }
            }
            return StepResult(next: next, reward: out.rewards[0], terminal: terminal)
        } catch {
            fail(error)
            return StepResult(next: dead(state.slot, t + 1), reward: .nan, terminal: true)
        }
    }

    /// Writes the features of an observation: the values of a Box, one-hot for a Discrete space.
    func features(_ state: GymState, into buffer: UnsafeMutableBufferPointer<Double>) {
        let space = worker.description.observation
        if space.isDiscrete {
            for i in 0..<buffer.count { buffer[i] = 0 }
            let k = Int(state.observation[0].isFinite ? state.observation[0] : -1)
            if k >= 0 && k < buffer.count { buffer[k] = 1 }
        } else {
            for i in 0..<buffer.count { buffer[i] = state.observation[i] }
        }
    }

    var featureCount: Int {
        let space = worker.description.observation
        return space.isDiscrete ? space.n ?? 1 : space.size
    }
}

/// A Gymnasium environment with a Discrete action space, run in a Python worker: every algorithm
/// of the toolkit runs on it (`--env gym:CartPole-v1`). Rewards, termination and truncation are
/// Gymnasium's; values are Monte-Carlo estimates.
public struct GymEnvironment: Environment {
    public typealias State = GymState
    /// The slots of the worker.
    public let slots: GymSlots

    /// Wraps the slots of a worker whose action space is Discrete.
    public init(slots: GymSlots) {
        precondition(slots.worker.description.action.isDiscrete)
        self.slots = slots
    }

    public var actionCount: Int { slots.worker.description.action.n ?? 1 }
    public var horizon: Int { slots.horizon }
    public var discount: Double { 1 }
    public var featureCount: Int { slots.featureCount }

    public func reset(using rng: inout Xoshiro256) -> GymState { slots.reset(using: &rng) }

    public func step(_ state: GymState, action: Int, using rng: inout Xoshiro256) -> StepResult<GymState> {
        slots.step(state, action: [Double(action)])
    }

    public func features(of state: GymState, into buffer: UnsafeMutableBufferPointer<Double>) {
        slots.features(state, into: buffer)
    }
}

/// A Gymnasium environment with a Box action space (continuous control: Pendulum, the MuJoCo
/// tasks), run in a Python worker. Actions are real vectors; the worker casts them to the
/// space's dtype and Gymnasium's environment applies its own clipping, if any.
public struct GymBoxEnvironment: EpisodicEnvironment {
    public typealias State = GymState
    public typealias Action = [Double]
    /// The slots of the worker.
    public let slots: GymSlots

    /// Wraps the slots of a worker whose action space is a bounded Box.
    public init(slots: GymSlots) {
        precondition(slots.worker.description.action.actionSpace?.dimension != nil)
        self.slots = slots
    }

    public var actionSpace: ActionSpace { slots.worker.description.action.actionSpace! }
    public var horizon: Int { slots.horizon }
    public var discount: Double { 1 }
    public var featureCount: Int { slots.featureCount }

    public func reset(using rng: inout Xoshiro256) -> GymState { slots.reset(using: &rng) }

    public func step(_ state: GymState, action: [Double], using rng: inout Xoshiro256) -> StepResult<GymState> {
        slots.step(state, action: action)
    }

    public func features(of state: GymState, into buffer: UnsafeMutableBufferPointer<Double>) {
        slots.features(state, into: buffer)
    }
}
