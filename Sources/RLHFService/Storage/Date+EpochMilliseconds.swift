import Foundation

extension Date {
    /// Milliseconds since 1970-01-01T00:00:00Z, rounded to the nearest: how both stores keep times.
    var epochMilliseconds: Int64 {
        Int64((timeIntervalSince1970 * 1000).rounded())
    }

    /// The date `milliseconds` after 1970-01-01T00:00:00Z.
    init(epochMilliseconds milliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// The start (00:00 UTC) of this date's UTC day and of the next, in epoch milliseconds.
    var utcDayBoundsMilliseconds: (start: Int64, end: Int64) {
        let day: Int64 = 86_400_000
        let ms = epochMilliseconds
        let start = ms >= 0 ? ms / day * day : ((ms + 1) / day - 1) * day
        return (start, start + day)
    }
}

extension TimeInterval {
    /// This duration in whole milliseconds (rounded), at least 1.
    var leaseMilliseconds: Int64 {
        Swift.max(1, Int64((self * 1000).rounded()))
    }
}
