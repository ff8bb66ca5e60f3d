import Foundation
import RLHF

/// The random policy of a Gymnasium environment: a uniform index for a Discrete action space
/// (``Xoshiro256/index(below:)``), low + (high − low)·U for each value of a Box (one
/// ``Xoshiro256/uniform()`` per value, in order). `gym_reference.py random-returns` (in this module)
/// draws the same actions in Python.
public struct GymRandomActor<Action>: EpisodicActor {
    public typealias State = GymState
    let choose: (inout Xoshiro256) -> Action

    public mutating func action(in state: GymState, using rng: inout Xoshiro256) -> Action { choose(&rng) }

    /// The random policy of a discrete space of `count` actions.
    public static func discrete(_ count: Int) -> GymRandomActor<Int> {
        GymRandomActor<Int> { $0.index(below: count) }
    }

    /// The random policy of the box [low, high].
    public static func box(low: [Double], high: [Double]) -> GymRandomActor<[Double]> {
        GymRandomActor<[Double]> { rng in (0..<low.count).map { low[$0] + (high[$0] - low[$0]) * rng.uniform() } }
    }
}

extension GymSlots {
    /// Runs `episodes` episodes of the random policy, episode e from stream (seed, e / 256,
    /// e % 256) (its reset seed is the stream's first draw, shifted right by one), and returns
    /// each episode's summary in episode order.
    ///
    /// - Throws: the worker's failure, if it failed during the episodes.
    public func randomPolicyEpisodes(episodes: Int, seed: UInt64) throws -> [EpisodeSummary] {
        let d = worker.description
        var summaries: [EpisodeSummary] = []
        summaries.reserveCapacity(episodes)
        func generator(_ e: Int) -> Xoshiro256 {
            Xoshiro256(seed: seed, stream: UInt64(e / MonteCarlo.chunkSize), UInt64(e % MonteCarlo.chunkSize))
        }
        if d.action.isDiscrete {
            let env = GymEnvironment(slots: self)
            var actor = GymRandomActor<Int>.discrete(env.actionCount)
            for e in 0..<episodes {
                var rng = generator(e)
                summaries.append(env.rollout(&actor, using: &rng))
                if let f = failure { throw f }
            }
        } else {
            let env = GymBoxEnvironment(slots: self)
            guard case let .box(low, high) = env.actionSpace else { preconditionFailure() }
            var actor = GymRandomActor<[Double]>.box(low: low, high: high)
            for e in 0..<episodes {
                var rng = generator(e)
                summaries.append(env.rollout(&actor, using: &rng))
                if let f = failure { throw f }
            }
        }
        return summaries
    }
}
