import Foundation
import Testing
@testable import RLHF

@Suite("GridWorld")
struct GridWorldTests {
    /// Values computed independently (issue 2): V(uniform) and V* of each preset.
    @Test("presets have the reference sizes and exact values", arguments: [
        ("classic", 92, -0.615882, 0.818114), ("traps", 92, -0.823008, 0.606410),
        ("cliff", 96, -0.836898, 0.920141), ("open-10", 400, 0.002552, 0.999874),
    ])
    func referenceValues(name: String, d: Int, uniform: Double, optimal: Double) throws {
        let g = try GridWorld(preset: #require(GridWorldPreset.named(name)))
        #expect(g.stateCount * g.actionCount == d)
        #expect(abs(g.model.value(policy: g.model.uniformPolicy) - uniform) < 5e-7)
        #expect(abs(g.model.optimalValue - optimal) < 5e-7)
    }

    @Test("open-N has d = 4N², horizon 4N and no step cost")
    func openN() throws {
        for n in [2, 5, 20] {
            let g = try GridWorld(preset: #require(GridWorldPreset.named("open-\(n)")))
            #expect(g.stateCount * 4 == 4 * n * n)
            #expect(g.horizon == 4 * n && g.options.stepReward == 0 && g.slip == 0.2)
        }
        #expect(GridWorldPreset.named("open-1") == nil)
        #expect(GridWorldPreset.named("open-x") == nil)
        #expect(GridWorldPreset.named("nope") == nil)
    }

    @Test("without slip, moves go where they point; walls and edges keep the agent in place")
    func deterministicMoves() throws {
        let g = try GridWorld(map: "S.#\n..G", options: .init(slip: 0, horizon: 5, stepReward: -0.1))
        var rng = Xoshiro256(seed: 0)
        let s = g.startState
        let at = { (r: Int, c: Int) in g.stateOfCell[r][c]! }
        #expect(g.step(s, action: 0, using: &rng).next == s)          // up: edge
        #expect(g.step(s, action: 3, using: &rng).next == s)          // left: edge
        #expect(g.step(s, action: 2, using: &rng).next == at(0, 1))   // right
        #expect(g.step(s, action: 1, using: &rng).next == at(1, 0))   // down
        #expect(g.step(at(0, 1), action: 2, using: &rng).next == at(0, 1)) // right: wall
        let stay = g.step(s, action: 0, using: &rng)
        #expect(stay.reward == -0.1 && !stay.terminal)
        let goal = g.step(at(1, 1), action: 2, using: &rng)
        #expect(goal.next == at(1, 2) && goal.reward == 1 && goal.terminal)
    }

    @Test("slip: the executed action is uniform over all four with probability slip")
    func slipFrequencies() throws {
        // From the centre of an open 3×3 grid every action leads to a different cell.
        let g = try GridWorld(map: "...\n.S.\n..G", options: .init(slip: 0.4, horizon: 5, stepReward: 0))
        var rng = Xoshiro256(seed: 9)
        let centre = g.startState
        let targets = [g.stateOfCell[0][1]!, g.stateOfCell[2][1]!, g.stateOfCell[1][2]!, g.stateOfCell[1][0]!]
        let n = 80_000
        for intended in 0..<4 {
            var counts = [0, 0, 0, 0]
            for _ in 0..<n { counts[targets.firstIndex(of: g.step(centre, action: intended, using: &rng).next)!] += 1 }
            for a in 0..<4 {
                let p = (a == intended ? 0.6 : 0) + 0.1
                #expect(abs(Double(counts[a]) / Double(n) - p) < 4 * (p * (1 - p) / Double(n)).squareRoot())
            }
        }
        // The model says the same.
        let k = centre * 4 + 2
        for j in g.model.rowStart[k]..<g.model.rowStart[k + 1] {
            let p = g.model.successor[j] == targets[2] ? 0.7 : 0.1
            #expect(abs(g.model.probability[j] - p) < 1e-15)
        }
    }

    @Test("the model's rows are distributions and rewards are those of the entered cell")
    func modelConsistency() throws {
        let g = try GridWorld(preset: #require(GridWorldPreset.named("traps")))
        let m = g.model
        for s in 0..<m.stateCount where !m.isTerminal[s] {
            for a in 0..<4 {
                let k = s * 4 + a
                let row = m.rowStart[k]..<m.rowStart[k + 1]
                #expect(abs(row.reduce(0.0) { $0 + m.probability[$1] } - 1) < 1e-12)
                for j in row {
                    let p = g.positions[m.successor[j]]
                    let expected: Double = switch g.cells[p.row][p.column] {
                    case .goal: 1
                    case .trap: -1
                    default: -0.02
                    }
                    #expect(m.reward[j] == expected)
                }
            }
        }
    }

    @Test("Monte-Carlo returns agree with the exact value within 4 standard errors", arguments: ["classic", "cliff"])
    func monteCarloAgreesWithExact(name: String) async throws {
        let g = try GridWorld(preset: #require(GridWorldPreset.named(name)))
        let family = TabularSoftmax(stateCount: g.stateCount, actionCount: 4)
        var rng = Xoshiro256(seed: 77)
        let theta = (0..<family.parameterCount).map { _ in rng.normal() }
        let exact = g.model.value(policy: family.probabilities(theta))
        let (mc, _) = await MonteCarlo.evaluate(g, family: family, parameters: theta, episodes: 40_000, seed: 5, threads: 2)
        #expect(abs(mc.mean - exact) < 4 * mc.standardError, "MC \(mc.mean) ± \(mc.standardError), exact \(exact)")
    }

    @Test("parallel Monte-Carlo gives the same numbers on any number of threads")
    func monteCarloDeterministic() async throws {
        let g = try GridWorld(preset: #require(GridWorldPreset.named("classic")))
        let family = TabularSoftmax(stateCount: g.stateCount, actionCount: 4)
        let theta = [Double](repeating: 0, count: family.parameterCount)
        let a = await MonteCarlo.evaluate(g, family: family, parameters: theta, episodes: 3000, seed: 3, threads: 1)
        let b = await MonteCarlo.evaluate(g, family: family, parameters: theta, episodes: 3000, seed: 3, threads: 2)
        let c = await MonteCarlo.evaluate(g, family: family, parameters: theta, episodes: 3000, seed: 3, threads: 7)
        #expect(a.value == b.value && b.value == c.value && a.steps == c.steps)
    }

    @Test("episodes end at the horizon or on a terminal cell")
    func episodeLength() throws {
        let g = try GridWorld(map: "S...G", options: .init(slip: 0, horizon: 3, stepReward: -1))
        var left = TabularActor(logits: (0..<(g.stateCount * 4)).map { $0 % 4 == 3 ? 50 : 0 }, actionCount: 4)
        var right = TabularActor(logits: (0..<(g.stateCount * 4)).map { $0 % 4 == 2 ? 50 : 0 }, actionCount: 4)
        var rng = Xoshiro256(seed: 1)
        let stuck = g.rollout(&left, using: &rng)
        #expect(stuck.steps == 3 && stuck.totalReturn == -3)
        let g2 = try GridWorld(map: "S...G", options: .init(slip: 0, horizon: 10, stepReward: -1))
        let done = g2.rollout(&right, using: &rng)
        #expect(done.steps == 4 && done.totalReturn == -2)
    }

    @Test("malformed maps are rejected naming line and column", arguments: [
        ("", 1, 1, "empty"),
        ("S..\n..", 2, 3, "ragged"),
        ("S..\n.x.\n..G", 2, 2, "unknown character 'x'"),
        ("...\n..G", 1, 1, "no start"),
        ("S..\n.S.\n..G", 2, 2, "second start"),
        ("S..\n...", 1, 1, "no goal"),
        ("S.#\n.#.\n#.G", 3, 3, "can be reached"),
        ("S.T.G", 1, 5, "can be reached"),
    ])
    func malformedMaps(map: String, line: Int, column: Int, message: String) {
        do {
            _ = try GridWorld(map: map, options: .init(slip: 0.1, horizon: 5, stepReward: 0), source: "test.map")
            Issue.record("map was accepted")
        } catch let RLHFError.invalidMap(source, l, c, m) {
            #expect(source == "test.map")
            #expect(l == line && c == column, "\(l):\(c) \(m)")
            #expect(m.contains(message), "\(m)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("bad options are rejected")
    func badOptions() {
        for o in [GridWorld.Options(slip: 1.5, horizon: 5, stepReward: 0), .init(slip: .nan, horizon: 5, stepReward: 0),
                  .init(slip: 0.1, horizon: 0, stepReward: 0), .init(slip: 0.1, horizon: 5, stepReward: .infinity)] {
            #expect(throws: RLHFError.self) { try GridWorld(map: "S.G", options: o) }
        }
    }

    @Test("map files load, with Windows line ends and a trailing newline")
    func mapFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-test-\(getpid()).map").path
        try "S..\r\n.#.\r\n..G\r\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let g = try EnvironmentSpec(name: path, horizon: 7).makeGridWorld()
        #expect(g.stateCount == 8 && g.horizon == 7 && g.slip == 0.2)
        #expect(throws: RLHFError.self) { try EnvironmentSpec(name: "no-such-preset-or-file").makeGridWorld() }
    }

    @Test("coordinate and one-hot features")
    func features() throws {
        var g = try GridWorld(preset: #require(GridWorldPreset.named("classic")))
        var buffer = [Double](repeating: 9, count: g.featureCount)
        buffer.withUnsafeMutableBufferPointer { g.features(of: 3, into: $0) }
        #expect(buffer.reduce(0, +) == 1 && buffer[3] == 1)
        g.featureMode = .coordinates
        var xy = [0.0, 0.0]
        let goal = g.stateOfCell[4][4]!
        xy.withUnsafeMutableBufferPointer { g.features(of: goal, into: $0) }
        #expect(xy == [1, 1])
        xy.withUnsafeMutableBufferPointer { g.features(of: g.startState, into: $0) }
        #expect(xy == [-1, -1])
    }
}
