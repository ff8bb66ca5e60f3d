/// The stochastic GridWorld of spec §2.
///
/// An ASCII map, one character a cell: `.` floor, `#` wall, `S` start, `G` goal (+1, terminal),
/// `T` trap (−1, terminal). Actions are up, down, right, left (indices 0…3). With probability
/// ``Options/slip`` the executed action is drawn uniformly from all four; moving into a wall or
/// the edge leaves the agent in place. A step's reward is that of the cell it ends in: +1 for
/// `G`, −1 for `T`, ``Options/stepReward`` otherwise. States are the non-wall cells, numbered
/// row by row, so a tabular softmax policy has d = 4·(number of non-wall cells) parameters.
public struct GridWorld: TabularEnvironment {
    /// Kind of a map cell.
    public enum Cell: Character, Sendable, CaseIterable {
        case floor = ".", wall = "#", start = "S", goal = "G", trap = "T"
    }

    /// How neural policies see a state.
    public enum FeatureMode: String, Sendable, CaseIterable, Codable {
        /// One-hot over the states (|S| features).
        case oneHot = "one-hot"
        /// Row and column scaled to [−1, 1] (2 features).
        case coordinates
    }

    /// The dynamics options that a map file does not carry.
    public struct Options: Sendable, Equatable {
        /// Probability that the executed action is drawn uniformly from all four.
        public var slip: Double
        /// The horizon H.
        public var horizon: Int
        /// Reward of a step that ends on a floor or start cell (staying in place included).
        public var stepReward: Double

        /// Creates options.
        public init(slip: Double, horizon: Int, stepReward: Double) {
            self.slip = slip
            self.horizon = horizon
            self.stepReward = stepReward
        }

        /// Throws unless slip ∈ [0, 1], 1 ≤ H ≤ ``Limits/horizon`` and the step reward is finite.
        public func validate() throws {
            try Validate.inRange(slip, 0...1, "slip")
            try Validate.atLeast(horizon, 1, "horizon", atMost: Limits.horizon)
            try Validate.finite(stepReward, "step reward")
        }
    }

    /// Action names, in index order.
    public static let actionNames = ["up", "down", "right", "left"]
    /// Row and column offsets of the actions, in index order.
    static let moves: [(dr: Int, dc: Int)] = [(-1, 0), (1, 0), (0, 1), (0, -1)]

    /// The map's cells, row by row.
    public let cells: [[Cell]]
    /// The dynamics options.
    public let options: Options
    /// How neural policies see a state.
    public var featureMode: FeatureMode = .oneHot
    /// The state index of every cell, row by row; nil for walls.
    public let stateOfCell: [[Int?]]
    /// Row and column of each state.
    public let positions: [(row: Int, column: Int)]
    /// The start state.
    public let startState: Int
    /// Successor of (state, executed action) at s·4 + a, before slipping is applied.
    @usableFromInline let nextState: [Int]
    /// Reward of entering each state.
    @usableFromInline let entryReward: [Double]
    /// Whether entering each state ends the episode.
    @usableFromInline let terminal: [Bool]
    /// The exact model.
    public let model: TabularMDP

    /// Number of rows of the map.
    public var rows: Int { cells.count }
    /// Number of columns of the map.
    public var columns: Int { cells.first?.count ?? 0 }
    public var stateCount: Int { positions.count }
    public var actionCount: Int { 4 }
    public var horizon: Int { options.horizon }
    public var discount: Double { 1 }
    public var featureCount: Int { featureMode == .oneHot ? stateCount : 2 }
    /// The slip probability.
    @inlinable public var slip: Double { options.slip }

    /// Builds a GridWorld from already-validated cells (use ``init(map:options:source:)`` for text).
    init(validatedCells cells: [[Cell]], options: Options) {
        self.cells = cells
        self.options = options
        var stateOfCell = [[Int?]]()
        var positions = [(row: Int, column: Int)]()
        var start = 0
        for (r, row) in cells.enumerated() {
            var line = [Int?]()
            for (c, cell) in row.enumerated() {
                if cell == .wall { line.append(nil); continue }
                if cell == .start { start = positions.count }
                line.append(positions.count)
                positions.append((r, c))
            }
            stateOfCell.append(line)
        }
        let n = positions.count
        var nextState = [Int](repeating: 0, count: n * 4)
        var entryReward = [Double](repeating: options.stepReward, count: n)
        var terminal = [Bool](repeating: false, count: n)
        for (s, p) in positions.enumerated() {
            switch cells[p.row][p.column] {
            case .goal: entryReward[s] = 1; terminal[s] = true
            case .trap: entryReward[s] = -1; terminal[s] = true
            default: break
            }
            for (a, m) in GridWorld.moves.enumerated() {
                let r = p.row + m.dr, c = p.column + m.dc
                if r >= 0, r < cells.count, c >= 0, c < cells[r].count, let s2 = stateOfCell[r][c] {
                    nextState[s * 4 + a] = s2
                } else {
                    nextState[s * 4 + a] = s
                }
            }
        }
        // Exact model: executed action a' has probability (1 − slip)·[a' = a] + slip/4.
        var transitions = [[[(next: Int, probability: Double, reward: Double)]]]()
        for s in 0..<n {
            var perAction = [[(next: Int, probability: Double, reward: Double)]]()
            for a in 0..<4 {
                var merged = [(next: Int, probability: Double, reward: Double)]()
                if !terminal[s] {
                    for executed in 0..<4 {
                        let p = (executed == a ? 1 - options.slip : 0) + options.slip / 4
                        if p == 0 { continue }
                        let s2 = nextState[s * 4 + executed]
                        if let i = merged.firstIndex(where: { $0.next == s2 }) {
                            merged[i].probability += p
                        } else {
                            merged.append((s2, p, entryReward[s2]))
                        }
                    }
                }
                perAction.append(merged)
            }
            transitions.append(perAction)
        }
        var startDistribution = [Double](repeating: 0, count: n)
        startDistribution[start] = 1
        self.stateOfCell = stateOfCell
        self.positions = positions
        self.startState = start
        self.nextState = nextState
        self.entryReward = entryReward
        self.terminal = terminal
        self.model = TabularMDP(actionCount: 4, horizon: options.horizon, discount: 1,
                                startDistribution: startDistribution, isTerminal: terminal,
                                transitions: transitions)
    }

    @inlinable
    public func reset(using rng: inout Xoshiro256) -> Int { startState }

    @inlinable
    public func step(_ state: Int, action: Int, using rng: inout Xoshiro256) -> StepResult<Int> {
        var executed = action
        let slip = options.slip
        if slip > 0 {
            // One uniform draw decides both whether the agent slips and where to: u < slip
            // slips, and u/slip is then uniform on [0, 1).
            let u = rng.uniform()
            if u < slip { executed = min(Int(u / slip * 4), 3) }
        }
        let next = nextState[state &* 4 &+ executed]
        return StepResult(next: next, reward: entryReward[next], terminal: terminal[next])
    }

    public func features(of state: Int, into buffer: UnsafeMutableBufferPointer<Double>) {
        switch featureMode {
        case .oneHot:
            for i in buffer.indices { buffer[i] = 0 }
            buffer[state] = 1
        case .coordinates:
            let p = positions[state]
            buffer[0] = rows > 1 ? 2 * Double(p.row) / Double(rows - 1) - 1 : 0
            buffer[1] = columns > 1 ? 2 * Double(p.column) / Double(columns - 1) - 1 : 0
        }
    }

    /// The map drawn as text, one line a row.
    public var mapText: String {
        cells.map { String($0.map(\.rawValue)) }.joined(separator: "\n")
    }
}
