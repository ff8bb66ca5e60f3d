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
    /// of ``number(_:)`` that is whole and within Int's range (exact below 2⁵³; larger values
    /// are above every limit of ``Limits`` and only serve to say so).
    public static func integer(_ text: String) -> Int? {
        let s = text.replacingOccurrences(of: "_", with: "").trimmingCharacters(in: .whitespaces)
        if let i = Int(s) { return i }
        guard let v = number(s), v.isFinite, v.rounded() == v, abs(v) < 9.2e18 else { return nil }
        return Int(v)
    }
}
