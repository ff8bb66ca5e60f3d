import RLHF

/// One of N parts of a study's runs (`rlhf study --shard I/N`), for many processes or machines
/// (a Slurm job array, a Kubernetes Indexed Job, a shell loop) sharing one output folder.
public struct StudyShard: Sendable, Equatable, CustomStringConvertible {
    /// This shard's index, 0 ≤ index < count.
    public var index: Int
    /// The number of shards.
    public var count: Int

    /// Most shards a study can be cut into.
    public static let maximumCount = 100_000

    /// Creates a shard.
    ///
    /// - Throws: ``StudyError`` unless 0 ≤ index < count ≤ ``maximumCount``.
    public init(index: Int, count: Int) throws {
        guard count >= 1, count <= Self.maximumCount else {
            throw StudyError("--shard I/N: N must be between 1 and \(Self.maximumCount) (got \(count))")
        }
        guard index >= 0, index < count else {
            throw StudyError("--shard I/N: I must be between 0 and N−1 = \(count - 1) (got \(index)); shards are numbered from 0, as Slurm's array task ids")
        }
        self.index = index; self.count = count
    }

    /// Parses `I/N` (as `--shard` takes it).
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0].trimmingCharacters(in: .whitespaces)),
              let n = Int(parts[1].trimmingCharacters(in: .whitespaces)) else {
            throw StudyError("--shard expects I/N (e.g. 0/4 for the first of four shards), got '\(text)'")
        }
        try self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }
}

extension StudyPlan {
    /// The estimated cost of a run, known before it runs: its query budget, times the
    /// evaluation work (environment steps are proportional to the budget for every algorithm).
    /// Only the order matters: it balances the shards, it does not predict seconds.
    static func estimatedCost(_ cell: Cell) -> Double {
        Double(cell.configuration.budget)
    }

    /// The cell indices of every shard: the runs sorted by estimated cost (largest first, ties
    /// by run id), each given to the shard with the least estimated work so far (ties: the lowest
    /// index). Longest-first greedy balancing; it depends on the plan only, so every process that
    /// reads the same study file computes the same assignment, whatever ran before.
    public func shardAssignment(count: Int) -> [[Int]] {
        let order = cells.indices.sorted {
            let a = Self.estimatedCost(cells[$0]), b = Self.estimatedCost(cells[$1])
            return a != b ? a > b : cells[$0].id < cells[$1].id
        }
        var shards = [[Int]](repeating: [], count: count)
        // A binary min-heap of (load, shard): O(runs · log shards).
        var heap = (0..<count).map { (load: 0.0, shard: $0) }
        func less(_ a: (load: Double, shard: Int), _ b: (load: Double, shard: Int)) -> Bool {
            a.load != b.load ? a.load < b.load : a.shard < b.shard
        }
        for i in order {
            let best = heap[0].shard
            shards[best].append(i)
            heap[0].load += Self.estimatedCost(cells[i])
            var j = 0
            while true {
                let l = 2 * j + 1, r = l + 1
                var m = j
                if l < count && less(heap[l], heap[m]) { m = l }
                if r < count && less(heap[r], heap[m]) { m = r }
                if m == j { break }
                heap.swapAt(j, m)
                j = m
            }
        }
        return shards.map { $0.sorted() }
    }

    /// The cell indices of one shard (in plan order).
    public func cells(of shard: StudyShard) -> [Int] {
        shardAssignment(count: shard.count)[shard.index]
    }
}
