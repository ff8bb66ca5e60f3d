/// A named GridWorld layout with its default dynamics (spec §2; the layouts are our choice).
public struct GridWorldPreset: Sendable {
    /// The preset's name, as given on the command line.
    public let name: String
    /// The map text.
    public let map: String
    /// The default slip, horizon and step reward.
    public let options: GridWorld.Options

    /// Names of the fixed presets; `open-N` (2 ≤ N ≤ 64) is also accepted.
    public static let names = ["classic", "traps", "cliff", "open-N"]

    /// The preset called `name`, or nil if there is none.
    public static func named(_ name: String) -> GridWorldPreset? {
        switch name {
        case "classic":
            return GridWorldPreset(name: name, map: """
                S....
                .#...
                ...#.
                .T...
                ....G
                """, options: .init(slip: 0.2, horizon: 20, stepReward: -0.02))
        case "traps":
            return GridWorldPreset(name: name, map: """
                S....
                .#.T.
                ...#.
                .T...
                ....G
                """, options: .init(slip: 0.2, horizon: 20, stepReward: -0.02))
        case "cliff":
            return GridWorldPreset(name: name, map: """
                S.....
                ......
                ......
                TTTTTG
                """, options: .init(slip: 0.1, horizon: 30, stepReward: -0.01))
        default:
            guard name.hasPrefix("open-"), let n = Int(name.dropFirst(5)), (2...64).contains(n) else { return nil }
            var rows = [String]()
            for r in 0..<n {
                var row = String(repeating: ".", count: n)
                if r == 0 { row = "S" + row.dropFirst() }
                if r == n - 1 { row = row.dropLast() + "G" }
                rows.append(row)
            }
            return GridWorldPreset(name: name, map: rows.joined(separator: "\n"),
                                   options: .init(slip: 0.2, horizon: 4 * n, stepReward: 0))
        }
    }
}

extension GridWorld {
    /// The GridWorld of a preset, with its default options unless `options` overrides them.
    public init(preset: GridWorldPreset, options: Options? = nil) throws {
        try self.init(map: preset.map, options: options ?? preset.options, source: preset.name)
    }
}
