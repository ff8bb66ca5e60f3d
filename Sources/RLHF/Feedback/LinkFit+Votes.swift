#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension LinkFit {
    /// One evaluator's answer on a pair whose return difference is x = R(τ1) − R(τ0).
    public struct Vote: Sendable, Equatable {
        /// What the evaluator answered.
        public enum Outcome: Sendable, Equatable {
            /// τ1 (the second trajectory, "right") preferred: likelihood σ(x).
            case second
            /// τ0 (the first trajectory, "left") preferred: likelihood 1 − σ(x).
            case first
            /// Can't tell: half a vote each way, likelihood √(σ(x)(1 − σ(x))).
            case tie
        }

        /// x = R(τ1) − R(τ0).
        public var difference: Double
        /// The answer.
        public var outcome: Outcome

        /// Creates a vote.
        public init(difference: Double, outcome: Outcome) {
            self.difference = difference
            self.outcome = outcome
        }
    }

    /// Votes aggregated by return difference: at each distinct x, the (possibly fractional)
    /// number of votes for τ1 and for τ0, a tie adding ½ to each.
    ///
    /// The log-likelihood of a link is Σ_x [n₁(x) log σ(x) + n₀(x) log(1 − σ(x))]; fractional
    /// counts come from ties and from soft labels p̂·M (a dataset's label of a noiseless panel).
    public struct VoteTable: Sendable, Equatable {
        /// The votes at one return difference.
        public struct Point: Sendable, Equatable {
            /// x = R(τ1) − R(τ0).
            public var difference: Double
            /// Votes for τ1 (ties count ½).
            public var forSecond: Double
            /// Votes for τ0 (ties count ½).
            public var forFirst: Double
        }

        /// The points, in the order their x first appeared.
        public private(set) var points: [Point] = []
        /// Total votes (a tie counts one).
        public private(set) var votes: Double = 0
        /// Ties among them.
        public private(set) var ties: Double = 0
        private var index: [Double: Int] = [:]
        private var added = 0

        /// An empty table.
        public init() {}

        /// The table of `votes`; a vote with a non-finite difference is refused by its index.
        public init(votes: [Vote]) throws {
            for v in votes {
                switch v.outcome {
                case .second: try add(difference: v.difference, forSecond: 1, forFirst: 0)
                case .first: try add(difference: v.difference, forSecond: 0, forFirst: 1)
                case .tie:
                    try add(difference: v.difference, forSecond: 0.5, forFirst: 0.5)
                    ties += 1
                }
            }
        }

        /// Adds `forSecond` votes for τ1 and `forFirst` for τ0 at x = `difference` (one item,
        /// numbered in the order added, 0-based, for the error).
        ///
        /// Throws ``LinkFitError/invalidVote(index:message:)`` unless x is finite and the counts
        /// finite and non-negative.
        public mutating func add(difference: Double, forSecond: Double, forFirst: Double) throws {
            let item = added
            added += 1
            guard difference.isFinite else {
                throw LinkFitError.invalidVote(index: item, message: "the return difference \(difference) is not finite")
            }
            guard forSecond.isFinite, forFirst.isFinite, forSecond >= 0, forFirst >= 0 else {
                throw LinkFitError.invalidVote(index: item, message: "vote counts \(forSecond), \(forFirst) must be finite and non-negative")
            }
            let x = difference == 0 ? 0 : difference     // −0 and +0 are one point
            if let i = index[x] {
                points[i].forSecond += forSecond
                points[i].forFirst += forFirst
            } else {
                index[x] = points.count
                points.append(Point(difference: x, forSecond: forSecond, forFirst: forFirst))
            }
            votes += forSecond + forFirst
        }

        /// Counts `count` of the votes added so far as ties (for reporting only).
        mutating func noteTies(_ count: Double) { ties += count }

        /// Votes at x ≠ 0 (the ones that carry information about the link).
        public var informativeVotes: Double {
            points.reduce(0) { $1.difference == 0 ? $0 : $0 + $1.forSecond + $1.forFirst }
        }

        public static func == (a: VoteTable, b: VoteTable) -> Bool {
            a.points == b.points && a.votes == b.votes && a.ties == b.ties
        }
    }
}

extension LinkFit {
    /// The fit-ready view of a vote table. Every link is symmetric, σ(−x) = 1 − σ(x), so the
    /// likelihood depends on a point only through |x| and the votes that agree with the sign of
    /// x (for the higher return) and disagree with it:
    /// log L = Σ [agree · log σ(|x|) + disagree · log σ(−|x|)] + (votes at x = 0) · log ½.
    struct Terms: Sendable {
        /// |x| of each point with x ≠ 0, aggregated.
        var magnitude: [Double] = []
        /// log |x|.
        var logMagnitude: [Double] = []
        /// Votes for the higher return.
        var agree: [Double] = []
        /// Votes for the lower return.
        var disagree: [Double] = []
        /// The constant log-likelihood of the votes at x = 0.
        var constant = 0.0
        /// All votes used (x = 0 included).
        var votes = 0.0
        /// Votes at x ≠ 0.
        var informative = 0.0
        /// The median and largest |x| (weighted by votes), which set the optimizer's box.
        var medianMagnitude = 0.0
        var maxMagnitude = 0.0
        /// Number of distinct |x|.
        var distinctMagnitudes: Int { magnitude.count }

        /// Checks the table and builds the terms; throws ``LinkFitError`` for data no link can
        /// be fitted to.
        init(_ table: VoteTable, settings: Settings) throws {
            self.init(table)
            try check(settings)
        }

        /// Throws ``LinkFitError`` for data no link can be fitted to.
        func check(_ settings: Settings) throws {
            let atZero = votes - informative
            guard informative > 0 else {
                if atZero > 0 { throw LinkFitError.noReturnDifferences(votes: atZero) }
                throw LinkFitError.tooFewVotes(informative: 0, minimum: settings.minimumVotes)
            }
            guard informative >= settings.minimumVotes else {
                throw LinkFitError.tooFewVotes(informative: informative, minimum: settings.minimumVotes)
            }
            if disagree.allSatisfy({ $0 == 0 }) { throw LinkFitError.separated(votes: informative) }
            if agree.allSatisfy({ $0 == 0 }) { throw LinkFitError.reversed(votes: informative) }
        }

        /// The terms of a table, unchecked.
        init(_ table: VoteTable) {
            var byMagnitude: [Double: Int] = [:]
            var atZero = 0.0
            for p in table.points {
                let w = p.forSecond + p.forFirst
                guard w > 0 else { continue }
                if p.difference == 0 { atZero += w; continue }
                let m = abs(p.difference)
                let (a, d) = p.difference > 0 ? (p.forSecond, p.forFirst) : (p.forFirst, p.forSecond)
                if let i = byMagnitude[m] {
                    agree[i] += a
                    disagree[i] += d
                } else {
                    byMagnitude[m] = magnitude.count
                    magnitude.append(m)
                    agree.append(a)
                    disagree.append(d)
                }
            }
            informative = agree.reduce(0, +) + disagree.reduce(0, +)
            votes = informative + atZero
            constant = atZero * -log(2.0)
            guard !magnitude.isEmpty else { return }
            // Sorted by |x|: the weighted median and the order make runs reproducible.
            let order = magnitude.indices.sorted { magnitude[$0] < magnitude[$1] }
            magnitude = order.map { magnitude[$0] }
            agree = order.map { agree[$0] }
            disagree = order.map { disagree[$0] }
            logMagnitude = magnitude.map { log($0) }
            maxMagnitude = magnitude.last!
            var cumulative = 0.0
            medianMagnitude = maxMagnitude
            for i in magnitude.indices {
                cumulative += agree[i] + disagree[i]
                if cumulative >= informative / 2 { medianMagnitude = magnitude[i]; break }
            }
        }
    }
}
