import RLHF

/// A study: a grid of training runs (environments × links × feedback settings × algorithm
/// variants × seeds × budgets) compared in one report, or one of the measurement studies.
///
/// Written in YAML (see ``Study/parse(yaml:file:)`` and the built-in studies in
/// ``BuiltInStudies``) or built from `rlhf study` flags.
public struct Study: Sendable {
    /// What a study runs.
    public enum Kind: String, Sendable, CaseIterable {
        /// Training runs on a grid; `results.csv` has one row per run and evaluation point.
        case training
        /// The DQN critic's error against the exact Q (spec §7).
        case critic
        /// ∇Φ_σ against the exact hypergradient as σ → 0 (spec §7).
        case hypergradient
        /// ZPG's estimator against the exact smoothed gradient (spec §7).
        case gradient
        /// On-policy reward learning iterated to its fixed points on `classic` (where Φ sends the bilevel method).
        case fixedPoint = "fixed-point"
    }

    /// One value of an axis of the grid: a label and the settings it applies.
    public struct Variant: Sendable {
        /// The label used in tables, plots and run names.
        public var label: String
        /// Applies the variant to a configuration.
        public var apply: @Sendable (inout TrainConfiguration) throws -> Void
        /// Where the variant is defined.
        public var location: StudyLocation?
        /// Algorithm variants: the budgets this variant runs at instead of the study's (nil: the
        /// study's), in or out of the study's list. Lets a study leave out budgets at which a
        /// slow method would dominate the running time, or add one a method needs; tables show
        /// no entry where a variant has no run.
        public var budgets: [Int]? = nil

        /// Creates a variant.
        public init(label: String, location: StudyLocation? = nil, apply: @escaping @Sendable (inout TrainConfiguration) throws -> Void) {
            self.label = label; self.location = location; self.apply = apply
        }
    }

    /// The study's name (its output folder's default name).
    public var name: String
    /// The report's title.
    public var title: String
    /// The question and how the answer is read off the numbers.
    public var question: StudyQuestion
    /// What the study runs.
    public var kind: Kind = .training
    /// Settings applied to every run first.
    public var base: Variant = Variant(label: "base") { _ in }
    /// Environments.
    public var environments: [Variant] = []
    /// Links.
    public var links: [Variant] = []
    /// Feedback settings (panel size, trimming, teacher); one `default` if the file has none.
    public var feedback: [Variant] = []
    /// Algorithm variants.
    public var algorithms: [Variant] = []
    /// Seeds.
    public var seeds: [UInt64] = []
    /// Query budgets; each is a separate run (offline methods spend their whole budget up
    /// front, so a larger run's intermediate value is not a smaller budget's result).
    public var budgets: [Int] = []
    /// Evaluation points per run (nil: the trainer's default, ~100 exact or 20 Monte-Carlo).
    public var evaluations: Int? = nil
    /// Most runs at once (nil: one per core). A study that compares wall times of multi-threaded
    /// runs sets 1, so that runs do not share the cores.
    public var workers: Int? = nil
    /// Measurement studies: the quick version (seconds, for tests and smoke runs).
    public var quick: Bool = false
    /// Free-text notes copied into the report.
    public var notes: [String] = []

    /// Creates an empty study.
    public init(name: String, title: String, question: StudyQuestion) {
        self.name = name; self.title = title; self.question = question
    }
}
