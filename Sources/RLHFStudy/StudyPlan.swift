import RLHF

/// Every run of a training study, built and checked before any of them starts.
public struct StudyPlan: Sendable {
    /// One run: a cell of the grid with its seed and budget.
    public struct Cell: Sendable {
        /// Unique, filesystem-safe identifier (the run's folder under `runs/`).
        public var id: String
        /// Labels of the cell's variants.
        public var variant: String, env: String, link: String, feedback: String
        /// The full configuration (seed and budget included).
        public var configuration: TrainConfiguration
    }

    /// The study.
    public var study: Study
    /// The runs, in the order results are reported: variant, env, link, feedback, seed, budget.
    public var cells: [Cell]

    /// The most runs in a study (a dry run of this many holds about 200 MB).
    public static let maximumRuns = 100_000
    /// The longest run id in bytes: a folder name, under the 255 bytes file systems allow, with
    /// room for the temporary names written beside it.
    public static let maximumIDBytes = 200

    /// The number of runs of `study`, counted before any is built.
    public static func runCount(_ study: Study) -> Double {
        let perBudget = Double(study.environments.count) * Double(study.links.count) * Double(study.feedback.count) * Double(study.seeds.count)
        return study.algorithms.reduce(0.0) { $0 + Double(($1.budgets ?? study.budgets).count) * perBudget }
    }

    /// Expands and checks a training study: every combination must give a valid configuration,
    /// every budget must pay for at least one iteration of every algorithm, the study has at most
    /// ``maximumRuns`` runs (counted before any is built), and every run id is a distinct folder
    /// name of at most ``maximumIDBytes`` bytes.
    ///
    /// - Throws: ``StudyError`` naming the variant (and its line) that makes a run invalid.
    public init(_ study: Study) throws {
        guard study.kind == .training else { throw StudyError("\(study.kind.rawValue) is a measurement study: it has no training runs") }
        self.study = study
        let count = Self.runCount(study)
        guard count <= Double(Self.maximumRuns) else {
            throw StudyError("\(count < 1e15 ? String(Int(count)) : "\(count)") runs (\(study.algorithms.count) algorithm variants × \(study.environments.count) "
                             + "environments × \(study.links.count) links × \(study.feedback.count) feedback settings × "
                             + "\(study.seeds.count) seeds × their budgets); a study has at most \(Self.maximumRuns): use fewer seeds, "
                             + "budgets or variants, or split it into several studies")
        }
        var cells: [Cell] = []
        cells.reserveCapacity(Int(count))
        var owners: [String: Int] = [:]
        for algorithm in study.algorithms {
            for env in study.environments {
                for link in study.links {
                    for feedback in study.feedback {
                        // One configuration per cell (seed and budget change nothing to check).
                        var base = TrainConfiguration()
                        // One thread per run unless the study says (runs go in parallel instead).
                        base.threads = 1
                        try study.base.apply(&base)
                        try env.apply(&base)
                        try link.apply(&base)
                        try feedback.apply(&base)
                        try algorithm.apply(&base)
                        base.evaluationPoints = study.evaluations
                        let at = algorithm.location
                        do {
                            try base.validate()
                        } catch {
                            throw StudyError("\(error) (algorithm '\(algorithm.label)' on \(env.label), \(link.label), feedback \(feedback.label))",
                                             key: "algorithms", at: at)
                        }
                        let tabular = (try? base.environment.resolve())?.isTabular ?? true
                        if base.policy == .tabular && !tabular {
                            throw StudyError("a tabular policy needs a tabular environment; set the policy to mlp for \(env.label) ('policy: mlp' in a study file, --set policy=mlp with flags)", key: "algorithms", at: at)
                        }
                        let minimum = base.minimumBudget(tabular: tabular)
                        let budgets = algorithm.budgets ?? study.budgets
                        for budget in budgets where budget < minimum {
                            throw StudyError("budget \(budget) is too small for '\(algorithm.label)': one iteration needs \(minimum) queries",
                                             key: "budgets", at: at)
                        }
                        for seed in study.seeds {
                            for budget in budgets {
                                var c = base
                                c.seed = seed
                                c.budget = budget
                                let id = [algorithm.label, env.label, link.label, feedback.label, "s\(seed)", "q\(budget)"]
                                    .map(Self.safe).joined(separator: "__")
                                if id.utf8.count > Self.maximumIDBytes {
                                    throw StudyError("the run id '\(id)' has \(id.utf8.count) bytes; a run id names its folder and has at most "
                                                     + "\(Self.maximumIDBytes): give the variants shorter labels", key: "algorithms", at: at)
                                }
                                if let other = owners[id.lowercased()] {   // folders must differ on case-insensitive disks too
                                    let o = cells[other]
                                    throw StudyError("runs '\(o.variant)' on \(o.env), \(o.link), feedback \(o.feedback) and '\(algorithm.label)' on "
                                                     + "\(env.label), \(link.label), feedback \(feedback.label) get the same run id '\(id)' "
                                                     + "(ignoring case, as a case-insensitive disk does; labels are joined with '__'): give one of the variants another label",
                                                     key: "algorithms", at: at)
                                }
                                owners[id.lowercased()] = cells.count
                                cells.append(Cell(id: id, variant: algorithm.label, env: env.label, link: link.label,
                                                  feedback: feedback.label, configuration: c))
                            }
                        }
                    }
                }
            }
        }
        self.cells = cells
    }

    /// A label as a file-name part: letters, digits, `-`, `.`, `=`; anything else becomes `_`.
    static func safe(_ s: String) -> String {
        String(s.map { $0.isLetter || $0.isNumber || "-.=".contains($0) ? $0 : "_" })
    }
}
