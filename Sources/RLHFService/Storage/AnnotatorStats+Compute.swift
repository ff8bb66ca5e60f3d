import Foundation

/// One stored answer with what the statistics need; both backends read these and share the
/// computation, so that their `annotatorStats` agree exactly.
struct StatsAnswer: Sendable {
    var comparisonID: Int64
    var annotator: String
    var choice: Choice
    var timeToAnswerMs: Int64
    var firstReturn: Double
    var secondReturn: Double
}

extension AnnotatorStats {
    /// The statistics of every annotator in `answers` (one project's answers), ordered by name.
    ///
    /// Majority agreement: for each `left`/`right` answer of an annotator, the other answers to
    /// that comparison that are `left` or `right`; when they have a strict majority, the answer
    /// agrees if it equals it (no other preference, or a tie among them, leaves the answer out).
    /// Truth agreement: for each `left`/`right` answer to a comparison whose returns differ, it
    /// agrees if it is `right` exactly when `second_return > first_return`.
    static func compute(_ answers: [StatsAnswer]) -> [AnnotatorStats] {
        // Per comparison: the number of left and right answers.
        var votes: [Int64: (left: Int, right: Int)] = [:]
        for a in answers {
            var v = votes[a.comparisonID, default: (0, 0)]
            if a.choice == .left { v.left += 1 }
            if a.choice == .right { v.right += 1 }
            votes[a.comparisonID] = v
        }
        let byAnnotator = Dictionary(grouping: answers, by: \.annotator)
        return byAnnotator.keys.sorted().map { name in
            let mine = byAnnotator[name]!
            var majorityCompared = 0, majorityAgreed = 0
            var truthCompared = 0, truthAgreed = 0
            for a in mine where a.choice == .left || a.choice == .right {
                var others = votes[a.comparisonID]!
                if a.choice == .left { others.left -= 1 } else { others.right -= 1 }
                if others.left != others.right {
                    majorityCompared += 1
                    let majority: Choice = others.right > others.left ? .right : .left
                    if a.choice == majority { majorityAgreed += 1 }
                }
                if a.secondReturn != a.firstReturn {
                    truthCompared += 1
                    let truth: Choice = a.secondReturn > a.firstReturn ? .right : .left
                    if a.choice == truth { truthAgreed += 1 }
                }
            }
            let times = mine.map(\.timeToAnswerMs).sorted()
            let median: Double?
            if times.isEmpty {
                median = nil
            } else if times.count % 2 == 1 {
                median = Double(times[times.count / 2])
            } else {
                median = (Double(times[times.count / 2 - 1]) + Double(times[times.count / 2])) / 2
            }
            return AnnotatorStats(
                annotator: name, answers: mine.count, medianTimeToAnswerMs: median,
                majorityAgreement: majorityCompared > 0 ? Double(majorityAgreed) / Double(majorityCompared) : nil,
                majorityCompared: majorityCompared,
                truthAgreement: truthCompared > 0 ? Double(truthAgreed) / Double(truthCompared) : nil,
                truthCompared: truthCompared)
        }
    }
}
