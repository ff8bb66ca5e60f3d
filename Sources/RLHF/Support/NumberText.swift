import Foundation

/// Numbers as people write them, read the same way by every way in (command-line options,
/// `--set`, study files): `1000000`, `1e6`, `10^6`, `1_000_000`, `1.5e5`.
public enum NumberText {
    /// A number: a decimal or scientific literal, `B^E`, with `_` between digits ignored.
    public static func number(_ text: String) -> Double? {
        let s = text.replacingOccurrences(of: "_", with: "").trimmingCharacters(in: .whitespaces)
        guard !s.isEmpty else { return nil }
        if let caret = s.firstIndex(of: "^"), let b = Double(s[..<caret]), let e = Double(s[s.index(after: caret)...]) {
            return pow(b, e)
        }
        return Double(s)
    }

    /// A whole number: an integer literal (exact, any size Int holds), or a number in any form
    /// of ``number(_:)`` that is whole and below 9·10¹⁵ (where every whole Double is exact).
    public static func integer(_ text: String) -> Int? {
        let s = text.replacingOccurrences(of: "_", with: "").trimmingCharacters(in: .whitespaces)
        if let i = Int(s) { return i }
        guard let v = number(s), v.isFinite, v.rounded() == v, abs(v) < 9.0e15 else { return nil }
        return Int(v)
    }

    /// What an option's `transform:` throws: ArgumentParser prints it after "The value 'X' is
    /// invalid for '--option'".
    public struct FormatError: Error, CustomStringConvertible {
        public let description: String
    }

    /// ``integer(_:)`` for an option's `transform:`.
    public static func option(_ text: String) throws -> Int {
        guard let v = integer(text) else {
            throw FormatError(description: "expected a whole number (1000000, 1e6, 10^6 or 1_000_000)")
        }
        return v
    }

    /// A seed for an option's `transform:`: a whole number from 0 to 2⁶⁴ − 1.
    public static func seed(_ text: String) throws -> UInt64 {
        let s = text.replacingOccurrences(of: "_", with: "").trimmingCharacters(in: .whitespaces)
        if let v = UInt64(s) { return v }
        guard let i = integer(s), i >= 0 else {
            throw FormatError(description: "a seed is a whole number from 0 to 18446744073709551615")
        }
        return UInt64(i)
    }
}
