extension GridWorld {
    /// Parses a map (spec §2) and builds the GridWorld.
    ///
    /// - Parameters:
    ///   - map: the map text, one line a row; trailing blank lines and `\r` are ignored.
    ///   - options: slip, horizon and step reward.
    ///   - source: the name used in error messages (a file path or a preset name).
    /// - Throws: ``RLHFError/invalidMap(source:line:column:message:)`` naming the line and column
    ///   of the first problem: an empty map, ragged rows, an unknown character, no start or two,
    ///   no goal, or a goal that cannot be reached from the start; and
    ///   ``RLHFError/invalidArgument(name:message:)`` for bad options or a map above the
    ///   ``Limits`` (bytes, cells, and |S|·|A|·H of the exact model).
    public init(map: String, options: Options, source: String = "map") throws {
        try options.validate()
        func fail(_ line: Int, _ column: Int, _ message: String) -> RLHFError {
            .invalidMap(source: source, line: line, column: column, message: message)
        }
        guard map.utf8.count <= Limits.mapBytes else {
            throw fail(1, 1, "the map has \(map.utf8.count) bytes, above the limit of \(Limits.mapBytes.formatted)")
        }
        // "\r\n" is one Character in Swift, and a newline: Windows line ends split too.
        var lines = map.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        while let last = lines.last, last.allSatisfy({ $0 == " " || $0 == "\t" }) { lines.removeLast() }
        guard !lines.isEmpty else { throw fail(1, 1, "the map is empty") }

        var cells = [[Cell]]()
        var start: (Int, Int)? = nil
        var firstGoal: (Int, Int)? = nil
        let width = lines[0].count
        for (r, line) in lines.enumerated() {
            var row = [Cell]()
            for (c, ch) in line.enumerated() {
                guard let cell = Cell(rawValue: ch) else {
                    throw fail(r + 1, c + 1, "unknown character '\(ch)' (a cell is one of . # S G T)")
                }
                if cell == .start {
                    if let s = start {
                        throw fail(r + 1, c + 1, "a second start 'S' (the first is at line \(s.0 + 1), column \(s.1 + 1)); a map has exactly one")
                    }
                    start = (r, c)
                }
                if cell == .goal && firstGoal == nil { firstGoal = (r, c) }
                row.append(cell)
            }
            if row.count != width {
                throw fail(r + 1, min(row.count, width) + 1,
                           "ragged rows: this row has \(row.count) cells, the first row has \(width)")
            }
            cells.append(row)
        }
        guard width > 0 else { throw fail(1, 1, "the map's first row is empty") }
        if lines.count * width > Limits.mapCells {
            throw fail(1, 1, "the map has \(lines.count) × \(width) cells, above the limit of \(Limits.mapCells.formatted)")
        }
        let states = cells.reduce(0) { $0 + $1.lazy.filter { $0 != .wall }.count }
        try Validate.product([states, GridWorld.actionNames.count, options.horizon], atMost: Limits.tabularWork,
                             "\(source) with horizon \(options.horizon)", "|S| × |A| × H")
        guard let s = start else { throw fail(1, 1, "the map has no start 'S'") }
        guard let g = firstGoal else { throw fail(1, 1, "the map has no goal 'G'") }

        // Breadth-first search from the start; terminal cells are entered but not left.
        var seen = Array(repeating: Array(repeating: false, count: width), count: cells.count)
        var queue = [s]
        seen[s.0][s.1] = true
        var reachedGoal = false
        var head = 0
        while head < queue.count {
            let (r, c) = queue[head]; head += 1
            let cell = cells[r][c]
            if cell == .goal { reachedGoal = true; break }
            if cell == .trap { continue }
            for m in GridWorld.moves {
                let r2 = r + m.dr, c2 = c + m.dc
                guard r2 >= 0, r2 < cells.count, c2 >= 0, c2 < width,
                      cells[r2][c2] != .wall, !seen[r2][c2] else { continue }
                seen[r2][c2] = true
                queue.append((r2, c2))
            }
        }
        guard reachedGoal else {
            throw fail(g.0 + 1, g.1 + 1, "no goal 'G' can be reached from the start at line \(s.0 + 1), column \(s.1 + 1)")
        }
        self.init(validatedCells: cells, options: options)
    }
}
