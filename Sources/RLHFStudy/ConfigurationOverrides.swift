import Foundation
import RLHF

/// Applies a study file's settings to a ``TrainConfiguration``.
///
/// Any stored setting of the configuration can be set by name: `mu`, `alpha`, `pairs`, `blocks`,
/// `block-mode`, `policy`, `hidden`, `evaluators`, `trim`, `teacher`, `dpo`, `rm-ppo`, `ppo`,
/// `bilevel`, … Names are matched ignoring case, `-` and `_` (so `block-mode`, `block_mode` and
/// `blockMode` are the same key). Nested settings are maps (`dpo: {beta: 0.01}`), merged into the
/// algorithm's resolved defaults. Unknown names and values of the wrong type are reported with
/// their line.
enum ConfigurationOverrides {
    /// Keys a study handles itself and that cannot be set per run.
    static let reserved: Set<String> = ["seed", "budget", "evaluateEvery", "evaluationPoints"]

    /// Applies `settings` (a map) to `config`; `path` prefixes key names in errors.
    static func apply(_ settings: StudyValue, to config: inout TrainConfiguration, path: String,
                      skipping skipped: Set<String> = []) throws {
        guard case .map(let entries, _) = settings else {
            throw StudyError("expected a map of settings", key: path, at: settings.location)
        }
        for entry in entries where !skipped.contains(entry.key) {
            try apply(key: entry.key, keyLocation: entry.keyLocation, value: entry.value, to: &config, path: path)
        }
    }

    /// Applies one `key: value` setting.
    static func apply(key: String, keyLocation: StudyLocation, value: StudyValue,
                      to config: inout TrainConfiguration, path: String) throws {
        let name = "\(path.isEmpty ? "" : path + ".")\(key)"
        let known = propertyNames(of: config)
        guard let property = match(key, in: known), !reserved.contains(property) else {
            let listed = known.filter { !reserved.contains($0) }.map(kebab).sorted()
            throw StudyError("unknown setting; known settings: \(listed.joined(separator: ", "))", key: name, at: keyLocation)
        }
        // Names with their own readable syntax.
        switch property {
        case "algorithm":
            let s = try value.string(name)
            guard let a = AlgorithmName(rawValue: s) else {
                throw StudyError("unknown algorithm '\(s)'; known: \(AlgorithmName.known.map(\.rawValue).joined(separator: ", "))", key: name, at: value.location)
            }
            config.algorithm = a
            return
        case "environment":
            config.environment = try environment(value, name: name)
            return
        case "link":
            config.link = try link(value, name: name).link
            return
        case "hidden", "bilevelRewardHidden":
            let widths = try widthList(value, name: name)
            if property == "hidden" { config.hidden = widths } else { config.bilevelRewardHidden = widths }
            return
        default:
            break
        }
        // Everything else: merge into the configuration's JSON form and decode it back.
        var object = try jsonObject(config)
        if object[property] == nil || object[property] is NSNull {
            object[property] = try resolvedDefault(property, of: config)
        }
        object[property] = try merged(object[property], with: value, name: name, template: try template(property, of: config))
        do {
            let data = try JSONSerialization.data(withJSONObject: object)
            config = try decoder().decode(TrainConfiguration.self, from: data)
        } catch let e as DecodingError {
            throw StudyError(describe(e), key: codingName(e, path: path) ?? name, at: value.location)
        } catch {
            throw StudyError("invalid value (\(error))", key: name, at: value.location)
        }
    }

    // MARK: - Axis values with their own syntax

    /// An environment: a name (`classic`, `open-10`, `cartpole`, a map file) or a map with
    /// `name` and the optional `slip`, `horizon`, `step-reward`. Resolved here, so that an unknown
    /// name or a malformed map file is reported at its line.
    static func environment(_ value: StudyValue, name: String) throws -> EnvironmentSpec {
        var spec: EnvironmentSpec
        switch value {
        case .scalar(let s, _):
            spec = EnvironmentSpec(name: s)
        case .map(let entries, _):
            guard let n = entries.first(where: { $0.key == "name" }) else {
                throw StudyError("an environment needs a 'name'", key: name, at: value.location)
            }
            spec = EnvironmentSpec(name: try n.value.string(name + ".name"))
            for e in entries where e.key != "name" && e.key != "label" {
                let k = "\(name).\(e.key)"
                switch e.key.replacingOccurrences(of: "_", with: "-") {
                case "slip": spec.slip = try e.value.number(k)
                case "horizon": spec.horizon = try e.value.integer(k, minimum: 1)
                case "step-reward": spec.stepReward = try e.value.number(k)
                case "reference-return": spec.referenceReturn = try e.value.number(k)
                case "args":
                    // gym: environments: gymnasium.make's keyword arguments, KEY: VALUE.
                    guard case .map(let args, _) = e.value else {
                        throw StudyError("expected a map of keyword arguments (KEY: VALUE)", key: k, at: e.value.location)
                    }
                    var arguments: [String: String] = [:]
                    for a in args { arguments[a.key] = try a.value.string("\(k).\(a.key)") }
                    spec.arguments = arguments
                default: throw StudyError("unknown environment setting; known: name, label, slip, horizon, step-reward, args, reference-return", key: k, at: e.keyLocation)
                }
            }
        case .list:
            throw StudyError("expected an environment name or map", key: name, at: value.location)
        }
        do {
            try spec.resolve().checkNormalizable(name: spec.name, spec: spec)
        } catch {
            throw StudyError("\(error)", key: name, at: value.location)
        }
        return spec
    }

    /// A link: `bradley-terry`, `weibull`, `thurstone`, or a map with `kind`, `scale`, `shape`
    /// and an optional `label`. Returns the label (default: the kind, with non-default scale
    /// and shape appended).
    static func link(_ value: StudyValue, name: String) throws -> (label: String, link: LinkFunction) {
        var kindName: String, scale = 1.0, shape = 2.0, label: String? = nil
        var kindLocation = value.location
        switch value {
        case .scalar(let s, _):
            kindName = s
        case .map(let entries, _):
            guard let k = entries.first(where: { $0.key == "kind" }) else {
                throw StudyError("a link needs a 'kind' (bradley-terry, weibull, thurstone)", key: name, at: value.location)
            }
            kindName = try k.value.string(name + ".kind")
            kindLocation = k.value.location
            for e in entries where e.key != "kind" {
                let k = "\(name).\(e.key)"
                switch e.key {
                case "scale": scale = try e.value.number(k)
                case "shape": shape = try e.value.number(k)
                case "label": label = try e.value.string(k)
                default: throw StudyError("unknown link setting; known: kind, scale, shape, label", key: k, at: e.keyLocation)
                }
            }
        case .list:
            throw StudyError("expected a link name or map", key: name, at: value.location)
        }
        guard let kind = LinkFunction.Kind(rawValue: kindName) else {
            throw StudyError("unknown link '\(kindName)'; known: \(LinkFunction.Kind.allCases.map(\.rawValue).joined(separator: ", "))", key: name, at: kindLocation)
        }
        let link: LinkFunction
        do { link = try LinkFunction(kind, scale: scale, shape: shape) } catch {
            throw StudyError("\(error)", key: name, at: value.location)
        }
        var auto = kind.rawValue
        if scale != 1 { auto += " s=\(format(scale))" }
        if kind == .weibull && shape != 2 { auto += " k=\(format(shape))" }
        return (label ?? auto, link)
    }

    /// Hidden widths: a list `[64, 64]`, a single number, or a string `"64,64"` (`[]` or `""`: none).
    static func widthList(_ value: StudyValue, name: String) throws -> [Int] {
        switch value {
        case .list(let items, _):
            return try items.map { try $0.integer(name, minimum: 1) }
        case .scalar(let s, _):
            if s.trimmingCharacters(in: .whitespaces).isEmpty { return [] }
            return try s.split(separator: ",").map {
                guard let v = Int($0.trimmingCharacters(in: .whitespaces)), v >= 1 else {
                    throw StudyError("'\(s)' is not a list of positive widths", key: name, at: value.location)
                }
                return v
            }
        case .map:
            throw StudyError("expected a list of widths", key: name, at: value.location)
        }
    }

    // MARK: - Generic merge

    /// The configuration as a JSON object with its own (camelCase) keys.
    static func jsonObject<T: Encodable>(_ value: T) throws -> [String: Any] {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = nonFinite
        let data = try encoder.encode(value)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    /// Non-finite numbers (an option given as `nan`) survive the round trip through JSON, so
    /// that ``TrainConfiguration/validate()`` reports them by name instead of the encoder
    /// failing with an internal message.
    static let nonFinite = JSONEncoder.NonConformingFloatEncodingStrategy.convertToString(
        positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")

    /// The decoder matching ``jsonObject(_:)``.
    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }

    /// The resolved value of an optional nested setting (DPO, RM+PPO, PPO defaults depend on the
    /// algorithm and the environment), as a JSON object to merge into; nil for plain optionals.
    static func resolvedDefault(_ property: String, of config: TrainConfiguration) throws -> Any? {
        let tabular = (try? config.environment.resolve())?.isTabular ?? true
        switch property {
        case "dpo": return try jsonObject(config.resolvedDPO)
        case "rmPPO": return try jsonObject(config.resolvedRMPPO(tabular: tabular))
        case "ppo": return try jsonObject(config.resolvedPPO(tabular: tabular))
        case "feedback": return try jsonObject(config.feedback ?? FeedbackConfiguration())
        default: return nil
        }
    }

    /// `existing` (a JSON value or nil) overridden by `value`.
    static func merged(_ existing: Any?, with value: StudyValue, name: String, template: Any?) throws -> Any {
        switch value {
        case .map(let entries, _):
            guard var object = existing as? [String: Any] else {
                throw StudyError("this setting is a single value, not a map", key: name, at: value.location)
            }
            let children = template.map(members) ?? []
            let known = Array(Set(object.keys).union(children.map(\.name)))
            for e in entries {
                let k = "\(name).\(e.key)"
                guard let property = match(e.key, in: known) else {
                    throw StudyError("unknown setting; known: \(known.map(kebab).sorted().joined(separator: ", "))", key: k, at: e.keyLocation)
                }
                let child = children.first { $0.name == property }?.value
                object[property] = try merged(object[property], with: e.value, name: k, template: child)
            }
            return object
        case .list(let items, _):
            return try items.map { try merged(nil, with: $0, name: name, template: nil) }
        case .scalar(let s, _):
            if existing is [String: Any] {
                throw StudyError("this setting is a map of settings, not a single value", key: name, at: value.location)
            }
            if existing is [Any] {
                // A comma-separated string for a list of numbers.
                return try s.split(separator: ",").map {
                    let v = scalar(String($0).trimmingCharacters(in: .whitespaces))
                    if let d = v as? Double, !d.isFinite {
                        throw StudyError("'\(s)' has a number that is not finite", key: name, at: value.location)
                    }
                    return v
                }
            }
            if let template, let choices = (type(of: template) as? SettingChoices.Type)?.settingChoices,
               !choices.contains(s) && !(template is DPOReference && s == "previousRound") {
                throw StudyError("'\(s)' is not one of: \(choices.joined(separator: ", "))", key: name, at: value.location)
            }
            if existing is String { return s }
            // null (`null`, `~`, `none`) unsets an optional number whose default is set (e.g.
            // `rm-ppo.reward-model.steps-per-round=null`); a required one then fails to decode
            // with "missing value".
            if scalar(s) is NSNull { return NSNull() }
            if template is Int || template is UInt64, StudyValue.parseInteger(s) == nil {
                throw StudyError("'\(s)' is not a whole number", key: name, at: value.location)
            }
            if template is Double, StudyValue.parseNumber(s) == nil {
                throw StudyError("'\(s)' is not a number", key: name, at: value.location)
            }
            let v = scalar(s)
            if let d = v as? Double, !d.isFinite {
                throw StudyError("'\(s)' is not a finite number", key: name, at: value.location)
            }
            return v
        }
    }

    /// The Swift value of a top-level setting, resolved where it is an optional with defaults:
    /// the template whose stored properties are the nested keys a study may set.
    static func template(_ property: String, of config: TrainConfiguration) throws -> Any? {
        let tabular = (try? config.environment.resolve())?.isTabular ?? true
        switch property {
        case "dpo": return config.resolvedDPO
        case "rmPPO": return config.resolvedRMPPO(tabular: tabular)
        case "ppo": return config.resolvedPPO(tabular: tabular)
        case "feedback": return config.feedback ?? FeedbackConfiguration()
        // Settings that may be unset: what they resolve to, so that a bad name lists the choices.
        case "policy": return config.resolvedPolicy(tabular: tabular)
        case "evaluation": return config.resolvedEvaluation
        case "bilevelDeploy": return config.resolvedBilevelDeploy
        default: return members(config).first { $0.name == property }?.value
        }
    }

    /// Stored properties of a struct with their values (nil optionals included, as nil).
    static func members(_ value: Any) -> [(name: String, value: Any?)] {
        Mirror(reflecting: value).children.compactMap { child in
            guard let label = child.label else { return nil }
            let m = Mirror(reflecting: child.value)
            if m.displayStyle == .optional { return (label, m.children.first?.value) }
            return (label, child.value)
        }
    }

    /// A YAML scalar as a JSON value: null, Bool, Int, Double or String.
    static func scalar(_ s: String) -> Any {
        switch s.lowercased() {
        case "null", "~", "none": return NSNull()
        case "true", "yes": return true
        case "false", "no": return false
        default: break
        }
        if let i = StudyValue.parseInteger(s) { return i }
        if let d = StudyValue.parseNumber(s) { return d }
        return s
    }

    // MARK: - Names

    /// Stored property names of a value (its synthesized coding keys), nil optionals included.
    static func propertyNames(of value: Any) -> [String] {
        Mirror(reflecting: value).children.compactMap(\.label)
    }

    /// Key comparison ignoring case, `-` and `_`.
    static func normalize(_ key: String) -> String {
        key.lowercased().filter { $0 != "-" && $0 != "_" }
    }

    /// The property `key` names, if any.
    static func match(_ key: String, in known: [String]) -> String? {
        let n = normalize(key)
        return known.first { normalize($0) == n }
    }

    /// `blockMode` → `block-mode`, `rmPPO` → `rm-ppo`: how keys are written in study files.
    static func kebab(_ name: String) -> String {
        var out = ""
        let chars = Array(name)
        for (i, c) in chars.enumerated() {
            if c.isUppercase, i > 0, chars[i - 1].isLowercase || (i + 1 < chars.count && chars[i + 1].isLowercase && chars[i - 1].isUppercase) {
                out.append("-")
            }
            out.append(Character(c.lowercased()))
        }
        return out
    }

    static func describe(_ e: DecodingError) -> String {
        e.message(naming: kebab)
    }

    /// The dotted name of the nested setting a decoding error is about (`bilevel.lower-step-size`),
    /// `path`-prefixed; nil when the error has no coding path.
    static func codingName(_ e: DecodingError, path: String) -> String? {
        guard let dotted = e.path(naming: kebab) else { return nil }
        return path.isEmpty ? dotted : path + "." + dotted
    }

    static func format(_ x: Double) -> String {
        x.rounded() == x && abs(x) < 1e6 ? String(Int(x)) : "\(x)"
    }
}
