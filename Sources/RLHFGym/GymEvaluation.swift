import Foundation
import RLHF

extension GymSlots {
    /// Runs `episodes` episodes of the random policy (``UniformFamily`` on a Discrete action
    /// space, ``UniformBoxFamily`` on a Box: `gym_reference.py random-returns`, in this module,
    /// draws the same actions in Python), episode e from stream (seed, e / 256,
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
            var actor = UniformFamily<GymEnvironment>(actionCount: env.actionCount).makeActor(UnsafeBufferPointer(start: nil, count: 0))
            for e in 0..<episodes {
                var rng = generator(e)
                summaries.append(env.rollout(&actor, using: &rng))
                if let f = failure { throw f }
            }
        } else {
            let env = GymBoxEnvironment(slots: self)
            var actor = UniformBoxFamily(env: env).makeActor(UnsafeBufferPointer(start: nil, count: 0))
            for e in 0..<episodes {
                var rng = generator(e)
                summaries.append(env.rollout(&actor, using: &rng))
                if let f = failure { throw f }
            }
        }
        return summaries
    }
}
