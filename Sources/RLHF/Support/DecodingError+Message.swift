extension DecodingError {
    /// What is wrong, in words for a person rather than the decoder's description: `not valid
    /// JSON`, `wrong type of value (expected a whole number)`, `missing 'queries'`.
    ///
    /// - Parameter name: how a coding key is written for the reader (e.g. kebab-case in study files).
    public func message(naming name: (String) -> String = { $0 }) -> String {
        switch self {
        case .typeMismatch(let type, _): return "wrong type of value (expected \(Self.simple(type)))"
        case .valueNotFound(let type, _): return "missing value (expected \(Self.simple(type)))"
        case .keyNotFound(let k, _): return "missing '\(name(k.stringValue))'"
        case .dataCorrupted(let c):
            return c.codingPath.isEmpty ? "not valid JSON" : "invalid value (\(c.debugDescription))"
        @unknown default: return "invalid value"
        }
    }

    /// The dotted path of the value the error is about (`state.records[12].queries`), nil when
    /// the error concerns the whole document.
    public func path(naming name: (String) -> String = { $0 }) -> String? {
        let context: Context
        switch self {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c), .keyNotFound(_, let c): context = c
        @unknown default: return nil
        }
        let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? name($0.stringValue) }
        guard !keys.isEmpty else { return nil }
        return keys.reduce("") { acc, k in k.hasPrefix("[") || acc.isEmpty ? acc + k : acc + "." + k }
    }

    /// A type as a reader would name it.
    static func simple(_ type: Any.Type) -> String {
        let s = "\(type)"
        if s.contains("Int") { return "a whole number" }
        if s.contains("Double") { return "a number" }
        if s.contains("Bool") { return "true or false" }
        if s.contains("String") { return "a name" }
        if s.contains("Array") { return "a list" }
        if s.contains("Dictionary") { return "a map" }
        return s
    }
}
