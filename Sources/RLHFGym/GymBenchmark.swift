import Foundation
import RLHF

/// Environment steps per second through the bridge against Gymnasium's own vector loop in
/// Python, on the same environment, machine and interpreter (`rlhf bench --gym ID`).
public enum GymBenchmark {
    /// One environment's figures.
    public struct Figures: Codable, Sendable {
        /// `gym:ID`.
        public var env: String
        /// B: environments stepped together.
        public var numEnvs: Int
        /// Lock-step steps timed (each of B rows).
        public var steps: Int
        /// Through the worker, B rows a frame (one round trip per batched step; what a
        /// lock-step engine gets).
        public var bridgeBatchedStepsPerSecond: Double
        /// Through the worker, one row a frame (one round trip per environment step; what the
        /// single-episode engine, and so training today, gets).
        public var bridgeSingleStepsPerSecond: Double
        /// Gymnasium's own `make_vec(..., vectorization_mode="sync")` loop with numpy actions.
        public var gymnasiumStepsPerSecond: Double
        /// gymnasium ÷ bridge batched: how many times slower the bridge is (1 = no cost).
        public var slowdownBatched: Double
        /// gymnasium ÷ bridge single-row.
        public var slowdownSingle: Double
    }

    /// Measures `id` with B = `numEnvs` environments over `steps` lock-step steps (after 100
    /// warm-up steps), random actions drawn in Swift from stream (seed, slot).
    public static func measure(id: String, numEnvs: Int, steps: Int, seed: UInt64 = 1) throws -> Figures {
        let spec = EnvironmentSpec(name: GymEnvironments.prefix + id)
        let kwargs = try GymEnvironments.keywordArguments(spec)
        let worker = try GymWorker(id: id, kwargsJSON: kwargs, python: GymEnvironments.python)
        defer { worker.close() }
        let batched = try bridge(worker, rows: numEnvs, steps: steps, seed: seed)
        let single = try bridge(worker, rows: 1, steps: max(100, steps * numEnvs / 4), seed: seed)
        let own = try gymnasiumLoop(id: id, kwargs: kwargs, numEnvs: numEnvs, steps: steps, seed: seed)
        return Figures(env: spec.name, numEnvs: numEnvs, steps: steps, bridgeBatchedStepsPerSecond: batched,
                       bridgeSingleStepsPerSecond: single, gymnasiumStepsPerSecond: own,
                       slowdownBatched: own / batched, slowdownSingle: own / single)
    }

    /// Steps per second of `rows` slots stepped in lock-step frames; ended episodes are reset
    /// (one reset frame for the ended rows) before the next step, as Gymnasium's vector
    /// environments do.
    static func bridge(_ worker: GymWorker, rows: Int, steps: Int, seed: UInt64) throws -> Double {
        let d = worker.description
        let slots = Array(0..<rows)
        var rngs = slots.map { Xoshiro256(seed: seed, stream: UInt64($0)) }
        _ = try worker.reset(slots: slots, seeds: rngs.indices.map { rngs[$0].next() >> 1 })
        var actions = [Double](repeating: 0, count: rows * worker.actionSize)
        let box = d.action.actionSpace
        func draw() {
            for r in 0..<rows {
                switch box {
                case .box(let low, let high):
                    for i in 0..<low.count { actions[r * low.count + i] = low[i] + (high[i] - low[i]) * rngs[r].uniform() }
                case .finite(let n):
                    actions[r] = Double(rngs[r].index(below: n))
                case nil:
                    break
                }
            }
        }
        var start = Date()
        for t in 0..<(100 + steps) {
            if t == 100 { start = Date() }
            draw()
            let out = try worker.step(slots: slots, actions: actions)
            let ended = slots.filter { out.terminated[$0] || out.truncated[$0] }
            if !ended.isEmpty { _ = try worker.reset(slots: ended, seeds: ended.map { rngs[$0].next() >> 1 }) }
        }
        return Double(rows * steps) / Date().timeIntervalSince(start)
    }

    /// Gymnasium's own vector loop, run by `gym_reference.py vector-throughput` (embedded).
    static func gymnasiumLoop(id: String, kwargs: String, numEnvs: Int, steps: Int, seed: UInt64) throws -> Double {
        let interpreter = GymWorker.interpreter(GymEnvironments.python)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [interpreter, "-c", GymWorker.referenceSource, "vector-throughput", "--env", id, "--kwargs", kwargs,
                       "--num-envs", "\(numEnvs)", "--steps", "\(steps)", "--seed", "\(seed)"]
        let out = Pipe(), errors = Pipe()
        p.standardOutput = out
        p.standardError = errors
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        struct Reply: Decodable { var steps_per_second: Double }
        guard p.terminationStatus == 0, let reply = try? JSONDecoder().decode(Reply.self, from: data) else {
            throw GymError("gym:\(id)", "Gymnasium's own vector loop failed (status \(p.terminationStatus)): \(String(decoding: err.suffix(600), as: UTF8.self))")
        }
        return reply.steps_per_second
    }
}
