import RLHF

extension Study {
    /// The top-level keys of a study file.
    public static let topLevelKeys = ["name", "title", "question", "answer", "kind", "environments", "links",
                                      "feedback", "algorithms", "seeds", "budgets", "evaluations", "settings",
                                      "quick", "notes", "workers", "margin"]

    /// Parses a study file.
    ///
    /// ```yaml
    /// name: my-study
    /// question: Does ZBCPG's block count change progress per query?
    /// environments: [classic]              # names, or maps {name, slip, horizon, step-reward, label}
    /// links: [bradley-terry, weibull]      # names, or maps {kind, scale, shape, label}
    /// feedback:                            # optional panel variants: any panel setting
    ///   - {label: M=10, evaluators: 10}
    /// seeds: 5                             # 0…4, or a list [0, 7, 9]
    /// budgets: [1e4, 1e5, 1e6]             # queries; each budget is its own run
    /// settings: {policy: tabular}          # applied to every run
    /// algorithms:
    ///   - zpg                              # a name, or a map: label, algorithm, any setting
    ///   - {label: zbcpg-k8, algorithm: zbcpg, blocks: 8}
    ///   - {label: rm, algorithm: rm-ppo, budgets: [1e4, 3e4]}   # its own budgets
    /// margin: 0.01                         # medians closer than this are ties in the answer
    /// ```
    ///
    /// Errors name the file, line, column and key. Settings are checked here; whether every
    /// combination is valid (e.g. budgets large enough) is checked by ``StudyPlan`` before any
    /// run starts.
    ///
    /// Each setting belongs to one axis: a feedback or algorithm variant (or `settings`) may not
    /// set `environment`, `link` or `algorithm` (the axes `environments`, `links`, `algorithms`),
    /// and a feedback and an algorithm variant may not set the same setting, so that every run
    /// is labelled by what it ran. Labels are at most ``maximumLabelLength`` characters and
    /// distinct within their axis also as run-folder names. At most ``maximumSeeds`` seeds.
    public static func parse(yaml text: String, file: String) throws -> Study {
        let root = try StudyValue.parse(yaml: text, file: file)
        guard case .map(let entries, _) = root else {
            throw StudyError("a study file is a map of settings (name, question, algorithms, …)", at: root.location)
        }
        func value(_ key: String) -> (StudyValue, StudyLocation)? {
            entries.first { $0.key == key }.map { ($0.value, $0.keyLocation) }
        }
        for e in entries where !topLevelKeys.contains(e.key) {
            throw StudyError("unknown key; known keys: \(topLevelKeys.joined(separator: ", "))", key: e.key, at: e.keyLocation)
        }
        let stem = file.split(separator: "/").last.map { String($0.split(separator: ".").first ?? $0) } ?? "study"
        let name = try value("name")?.0.string("name") ?? stem
        let questionText = try value("question")?.0.string("question")
        var study = Study(name: name, title: try value("title")?.0.string("title") ?? name,
                          question: StudyQuestion(question: questionText ?? "How do the variants compare?"))

        if let (k, _) = value("kind") {
            let s = try k.string("kind")
            guard let kind = Kind(rawValue: s) else {
                throw StudyError("unknown kind '\(s)'; known: \(Kind.allCases.map(\.rawValue).joined(separator: ", "))", key: "kind", at: k.location)
            }
            study.kind = kind
        }
        study.question.answer = study.kind == .training ? .best : .trend
        // A measurement study without a question of its own asks its measurement's.
        if questionText == nil, let m = StudyRunner.measurement(study.kind) { study.question = m.question }
        if let (a, _) = value("answer") { study.question.answer = try parseAnswer(a) }
        if let (m, _) = value("margin") {
            let margin = try m.number("margin")
            guard margin >= 0 && margin < 1 else {
                throw StudyError("expected a normalized difference in [0, 1), e.g. 0.01", key: "margin", at: m.location)
            }
            study.question.margin = margin
        }
        if let (w, _) = value("workers") { study.workers = try w.integer("workers", minimum: 1) }
        if let (q, _) = value("quick") { study.quick = try parseBool(q, key: "quick") }
        if let (n, _) = value("notes") { study.notes = try n.elements().map { try $0.string("notes") } }

        // Seeds: a count or a list.
        guard let (seedValue, seedKey) = value("seeds") else {
            throw StudyError("missing 'seeds' (a count like 5, or a list like [0, 1, 2])", key: "seeds", at: root.location)
        }
        study.seeds = try parseSeeds(seedValue, keyLocation: seedKey)

        if study.kind != .training {
            return study
        }

        guard let (budgetValue, _) = value("budgets") else {
            throw StudyError("missing 'budgets' (query budgets, e.g. [1e4, 1e5])", key: "budgets", at: root.location)
        }
        study.budgets = try budgetList(budgetValue, key: "budgets")
        if let (e, _) = value("evaluations") { study.evaluations = try e.integer("evaluations", minimum: 2) }

        try checkAxes(settings: value("settings")?.0, feedback: value("feedback")?.0, algorithms: value("algorithms")?.0)
        if let (settings, _) = value("settings") {
            try check { c in try ConfigurationOverrides.apply(settings, to: &c, path: "settings") }
            study.base = Variant(label: "settings", location: settings.location) { c in
                try ConfigurationOverrides.apply(settings, to: &c, path: "settings")
            }
        }
        study.environments = try axis(value("environments")?.0, key: "environments", required: true, parse: environmentVariant)
        study.links = try axis(value("links")?.0, key: "links", required: false, parse: linkVariant)
        if study.links.isEmpty { study.links = [Variant(label: "bradley-terry") { $0.link = .bradleyTerry }] }
        study.feedback = try axis(value("feedback")?.0, key: "feedback", required: false, parse: settingsVariant)
        if study.feedback.isEmpty { study.feedback = [Variant(label: "default") { _ in }] }
        study.algorithms = try axis(value("algorithms")?.0, key: "algorithms", required: true, parse: algorithmVariant)
        return study
    }

    // MARK: - Pieces

    static func parseBool(_ v: StudyValue, key: String) throws -> Bool {
        switch try v.string(key).lowercased() {
        case "true", "yes": return true
        case "false", "no": return false
        default: throw StudyError("expected true or false", key: key, at: v.location)
        }
    }

    static func parseSeeds(_ v: StudyValue, keyLocation: StudyLocation) throws -> [UInt64] {
        switch v {
        case .scalar:
            let n = try v.integer("seeds")
            if n < 1 { throw StudyError("empty seed list (the count must be at least 1)", key: "seeds", at: v.location) }
            return try seedRange(count: n, key: "seeds", at: v.location)
        case .list(let items, _):
            if items.isEmpty { throw StudyError("empty seed list", key: "seeds", at: v.location) }
            if items.count > maximumSeeds {
                throw StudyError("\(items.count) seeds; a study has at most \(maximumSeeds)", key: "seeds", at: v.location)
            }
            let seeds = try items.map { UInt64(try $0.integer("seeds", minimum: 0)) }
            if Set(seeds).count != seeds.count { throw StudyError("a seed is listed twice", key: "seeds", at: v.location) }
            return seeds
        case .map:
            throw StudyError("expected a count or a list of seeds", key: "seeds", at: v.location)
        }
    }

    /// The most seeds a study runs.
    public static let maximumSeeds = 10_000
    /// The most budgets in a study's (or a variant's) budget list.
    public static let maximumBudgets = 100

    /// Seeds 0…count−1, checked against ``maximumSeeds`` before anything is allocated (the
    /// `seeds:` count of a study file, or `rlhf study --seeds`).
    ///
    /// - Throws: ``StudyError`` naming `key` for a count below 1 or above ``maximumSeeds``.
    public static func seedRange(count: Int, key: String = "seeds", at location: StudyLocation? = nil) throws -> [UInt64] {
        guard count >= 1 else { throw StudyError("empty seed list (the count must be at least 1)", key: key, at: location) }
        guard count <= maximumSeeds else {
            throw StudyError("\(count) seeds; a study has at most \(maximumSeeds)", key: key, at: location)
        }
        return (0..<UInt64(count)).map { $0 }
    }

    /// A budget list (the study's, or a variant's own), ascending: not empty, at most
    /// ``maximumBudgets``, no budget twice.
    static func budgetList(_ v: StudyValue, key: String) throws -> [Int] {
        let items = v.elements()
        if items.isEmpty { throw StudyError("empty budget list", key: key, at: v.location) }
        if items.count > maximumBudgets { throw StudyError("\(items.count) budgets; a list has at most \(maximumBudgets)", key: key, at: v.location) }
        let budgets = try items.map { try $0.integer(key, minimum: 1) }
        if Set(budgets).count != budgets.count { throw StudyError("a budget is listed twice", key: key, at: v.location) }
        return budgets.sorted()
    }

    static func parseAnswer(_ v: StudyValue) throws -> StudyQuestion.AnswerRule {
        switch v {
        case .scalar(let s, _):
            switch s {
            case "best": return .best
            case "trend": return .trend
            default: throw StudyError("unknown answer rule '\(s)'; known: best, trend, or a map {compare: …} or {threshold: 0.9}", key: "answer", at: v.location)
            }
        case .map(let entries, _) where entries.count == 1 && entries[0].key == "threshold":
            let t = try entries[0].value.number("answer.threshold")
            guard t.isFinite else { throw StudyError("expected a finite normalized value", key: "answer.threshold", at: entries[0].value.location) }
            return .threshold(t)
        case .map(let entries, _):
            guard entries.count == 1, entries[0].key == "compare", case .map(let groups, _) = entries[0].value else {
                throw StudyError("expected {compare: {a: {name, variants}, b: {name, variants}}} or {threshold: 0.9}", key: "answer", at: v.location)
            }
            func group(_ key: String) throws -> (String, [String]) {
                guard let g = groups.first(where: { $0.key == key }), case .map(let fields, _) = g.value else {
                    throw StudyError("missing group '\(key)' ({name, variants})", key: "answer.compare", at: v.location)
                }
                for f in fields where f.key != "name" && f.key != "variants" {
                    throw StudyError("unknown key; known: name, variants", key: "answer.compare.\(key).\(f.key)", at: f.keyLocation)
                }
                let name = try fields.first { $0.key == "name" }?.value.string("answer.compare.\(key).name") ?? key
                guard let variants = fields.first(where: { $0.key == "variants" }) else {
                    throw StudyError("missing 'variants'", key: "answer.compare.\(key)", at: g.keyLocation)
                }
                return (name, try variants.value.elements().map { try $0.string("answer.compare.\(key).variants") })
            }
            let (na, a) = try group("a"), (nb, b) = try group("b")
            return .compare(groupA: a, nameA: na, groupB: b, nameB: nb)
        case .list:
            throw StudyError("expected best, trend, {compare: …} or {threshold: …}", key: "answer", at: v.location)
        }
    }

    /// Parses a list of variants, checking that labels are unique.
    static func axis(_ v: StudyValue?, key: String, required: Bool,
                     parse: (StudyValue, String) throws -> Variant) throws -> [Variant] {
        guard let v else {
            if required { throw StudyError("missing '\(key)'", key: key) }
            return []
        }
        let items = v.elements()
        if items.isEmpty && required { throw StudyError("empty list", key: key, at: v.location) }
        var variants: [Variant] = []
        for (i, item) in items.enumerated() {
            let variant = try parse(item, "\(key)[\(i)]")
            try checkLabel(variant, key: "\(key)[\(i)]", at: item.location, against: variants)
            variants.append(variant)
        }
        return variants
    }

    /// Runs `body` on a default configuration now, so that errors surface while parsing.
    static func check(_ body: (inout TrainConfiguration) throws -> Void) throws {
        var c = TrainConfiguration()
        try body(&c)
    }

    static func label(in v: StudyValue, key: String) throws -> String? {
        guard case .map(let entries, _) = v, let l = entries.first(where: { $0.key == "label" }) else { return nil }
        return try l.value.string(key + ".label")
    }

    static func environmentVariant(_ v: StudyValue, key: String) throws -> Variant {
        let spec = try ConfigurationOverrides.environment(v, name: key)
        // A map file is labelled by its file name, not its path.
        var auto = spec.name.split(separator: "/").last.map(String.init) ?? spec.name
        if let s = spec.slip { auto += " slip=\(ConfigurationOverrides.format(s))" }
        if let h = spec.horizon { auto += " H=\(h)" }
        if let r = spec.stepReward { auto += " step=\(ConfigurationOverrides.format(r))" }
        return Variant(label: try label(in: v, key: key) ?? auto, location: v.location) { $0.environment = spec }
    }

    static func linkVariant(_ v: StudyValue, key: String) throws -> Variant {
        let (label, link) = try ConfigurationOverrides.link(v, name: key)
        return Variant(label: label, location: v.location) { $0.link = link }
    }

    /// A map of settings with an optional label (default: the settings written out).
    static func settingsVariant(_ v: StudyValue, key: String) throws -> Variant {
        guard case .map(let entries, _) = v else {
            throw StudyError("expected a map of settings with a 'label'", key: key, at: v.location)
        }
        try check { c in try ConfigurationOverrides.apply(v, to: &c, path: key, skipping: ["label"]) }
        let auto = entries.filter { $0.key != "label" }.map { e -> String in
            if case .scalar(let s, _) = e.value { return "\(e.key)=\(s)" }
            return e.key
        }.joined(separator: " ")
        return Variant(label: try label(in: v, key: key) ?? (auto.isEmpty ? "default" : auto), location: v.location) { c in
            try ConfigurationOverrides.apply(v, to: &c, path: key, skipping: ["label"])
        }
    }

    /// An algorithm name, or a map with `algorithm` (default: the label), `label` and settings.
    static func algorithmVariant(_ v: StudyValue, key: String) throws -> Variant {
        switch v {
        case .scalar(let s, _):
            guard let a = AlgorithmName(rawValue: s) else {
                throw StudyError("unknown algorithm '\(s)'; known: \(AlgorithmName.known.map(\.rawValue).joined(separator: ", "))", key: key, at: v.location)
            }
            return Variant(label: s, location: v.location) { $0.algorithm = a }
        case .map(let entries, _):
            let given = try label(in: v, key: key)
            let hasAlgorithm = entries.contains { $0.key == "algorithm" }
            guard hasAlgorithm || given.flatMap(AlgorithmName.init(rawValue:)) != nil else {
                throw StudyError("missing 'algorithm' (\(AlgorithmName.known.map(\.rawValue).joined(separator: ", ")))", key: key, at: v.location)
            }
            let implied = hasAlgorithm ? nil : given.flatMap(AlgorithmName.init(rawValue:))
            // The algorithm first, so that its resolved defaults are what nested settings merge into.
            let ordered = entries.filter { $0.key == "algorithm" } + entries.filter { !["algorithm", "label", "budgets"].contains($0.key) }
            let body: @Sendable (inout TrainConfiguration) throws -> Void = { c in
                if let a = implied { c.algorithm = a }
                for e in ordered {
                    try ConfigurationOverrides.apply(key: e.key, keyLocation: e.keyLocation, value: e.value, to: &c, path: key)
                }
            }
            var probe = TrainConfiguration()
            try body(&probe)
            let auto = ([probe.algorithm.rawValue] + ordered.filter { $0.key != "algorithm" }.map { e -> String in
                if case .scalar(let s, _) = e.value { return "\(e.key)=\(s)" }
                return e.key
            }).joined(separator: " ")
            var variant = Variant(label: given ?? auto, location: v.location, apply: body)
            if let b = entries.first(where: { $0.key == "budgets" }) {
                variant.budgets = try budgetList(b.value, key: key + ".budgets")
            }
            return variant
        case .list:
            throw StudyError("expected an algorithm name or a map", key: key, at: v.location)
        }
    }
}
