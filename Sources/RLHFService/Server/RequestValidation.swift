import Foundation
import RLHF

/// The checks of submitted values beyond their JSON types; each failure is a 400 whose
/// message names the field.
enum RequestValidation {
    /// A name or key: 1 ... 256 characters, no control characters. Returned unchanged (HTML
    /// and script in it are allowed: the service never puts user text into HTML).
    static func name(_ value: String, field: String) throws -> String {
        if value.isEmpty { throw ServiceError.badRequest("field `\(field)` must not be empty") }
        if value.count > LabelStoreLimits.maxKeyLength {
            throw ServiceError.badRequest("field `\(field)` is longer than \(LabelStoreLimits.maxKeyLength) characters")
        }
        if value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw ServiceError.badRequest("field `\(field)` contains control characters")
        }
        return value
    }

    /// M: 1 ... 1000.
    static func answersPerPair(_ value: Int) throws -> Int {
        guard (1...LabelStoreLimits.maxAnswersPerPair).contains(value) else {
            throw ServiceError.badRequest("field `answers_per_pair` must be in 1 ... \(LabelStoreLimits.maxAnswersPerPair) (got \(value))")
        }
        return value
    }

    /// An environment description: an object with string `kind` and `name`, an `actions`
    /// array and a positive integer `horizon` when present. Returns its canonical text.
    static func environment(_ value: JSONValue) throws -> String {
        guard let members = value.objectValue else {
            throw ServiceError.badRequest("field `environment` must be an object (Docs/LabelingService.md, \"Environment description\")")
        }
        for field in ["kind", "name"] {
            guard let text = members[field]?.stringValue, !text.isEmpty else {
                throw ServiceError.badRequest("field `environment.\(field)` must be a non-empty string")
            }
        }
        if let actions = members["actions"], actions.arrayValue == nil {
            throw ServiceError.badRequest("field `environment.actions` must be an array")
        }
        if let horizon = members["horizon"] {
            guard case .integer(let h) = horizon, h > 0 else {
                throw ServiceError.badRequest("field `environment.horizon` must be a positive integer")
            }
        }
        return value.canonicalText
    }

    /// A trajectory: an object with arrays `states` and `actions` (and `rewards`, if present,
    /// as long as `actions`, of numbers). Returns its canonical text.
    static func trajectory(_ value: JSONValue, field: String) throws -> String {
        guard let members = value.objectValue else {
            throw ServiceError.badRequest("field `\(field)` must be a trajectory object {\"states\": […], \"actions\": […], \"rewards\": […]}")
        }
        guard let states = members["states"]?.arrayValue else {
            throw ServiceError.badRequest("field `\(field).states` must be an array")
        }
        guard let actions = members["actions"]?.arrayValue else {
            throw ServiceError.badRequest("field `\(field).actions` must be an array")
        }
        if states.isEmpty { throw ServiceError.badRequest("field `\(field).states` must not be empty") }
        if let rewards = members["rewards"] {
            guard let list = rewards.arrayValue else {
                throw ServiceError.badRequest("field `\(field).rewards` must be an array")
            }
            if list.count != actions.count {
                throw ServiceError.badRequest("field `\(field).rewards` has \(list.count) entries for \(actions.count) actions")
            }
            for entry in list {
                switch entry {
                case .integer, .number: continue
                default: throw ServiceError.badRequest("field `\(field).rewards` must hold numbers")
                }
            }
        }
        return value.canonicalText
    }

    /// An answer stream: 64 hex digits (4 × 64 bits), or nil.
    static func answerStream(_ value: String?, field: String) throws -> String? {
        guard let value else { return nil }
        // The generator's own reading of its state, so that whatever is accepted here is a stream
        // a simulated annotator can draw from.
        guard Xoshiro256(stateHex: value) != nil else {
            throw ServiceError.badRequest("field `\(field)` must be 64 hex digits (the generator's 4 × 64-bit state, not all zero)")
        }
        return value.lowercased()
    }

    /// A return: finite.
    static func finite(_ value: Double, field: String) throws -> Double {
        guard value.isFinite else { throw ServiceError.badRequest("field `\(field)` must be a finite number") }
        return value
    }
}
