import RLHF

/// One row of a training study's `results.csv`: one run (a variant of an algorithm on one
/// environment, link, feedback setting, seed and budget) at one evaluation point.
///
/// The columns are the issue's: algorithm, env, link, seed, queries, env steps, exact or
/// Monte-Carlo value with its standard error, normalized value, wall time — plus the labels
/// that say which cell of the study the run belongs to.
public struct ResultRow: Sendable, Equatable, Codable {
    /// Identifier of the run (unique within the study; its output folder under `runs/`).
    public var run: String
    /// The variant's label (an algorithm with its hyperparameters, e.g. `zbcpg-k8`).
    public var variant: String
    /// The algorithm (`zpg`, `rm-ppo`, …).
    public var algorithm: String
    /// The environment's name.
    public var env: String
    /// The link's label (`bradley-terry`, `weibull`, `thurstone`, or a study's own label).
    public var link: String
    /// The feedback setting's label (panel size, trimming, teacher); `default` if the study has one.
    public var feedback: String
    /// The seed.
    public var seed: UInt64
    /// The run's query budget.
    public var budget: Int
    /// Queries used at this evaluation point.
    public var queries: Int
    /// Environment steps at this evaluation point.
    public var envSteps: Int
    /// The policy's value (exact, or a Monte-Carlo mean).
    public var value: Double
    /// Standard error of ``value`` (nil when exact).
    public var valueStandardError: Double?
    /// (value − uniform) / (optimal − uniform).
    public var normalizedValue: Double
    /// Wall seconds since the run started.
    public var wallSeconds: Double
    /// Whether this is the run's last evaluation point (its result at ``budget``).
    public var isFinal: Bool
    /// The algorithm's diagnostics at this point (``TrainingRecord/diagnostics``): extra columns
    /// of `results.csv`, one per name, empty in the rows of algorithms without it.
    public var diagnostics: [Diagnostic]

    /// Creates a row.
    public init(run: String, variant: String, algorithm: String, env: String, link: String, feedback: String,
                seed: UInt64, budget: Int, queries: Int, envSteps: Int, value: Double, valueStandardError: Double?,
                normalizedValue: Double, wallSeconds: Double, isFinal: Bool, diagnostics: [Diagnostic] = []) {
        self.diagnostics = diagnostics
        self.run = run; self.variant = variant; self.algorithm = algorithm; self.env = env; self.link = link
        self.feedback = feedback; self.seed = seed; self.budget = budget; self.queries = queries
        self.envSteps = envSteps; self.value = value; self.valueStandardError = valueStandardError
        self.normalizedValue = normalizedValue; self.wallSeconds = wallSeconds; self.isFinal = isFinal
    }
}

/// One row of a measurement study's `results.csv` (studies that measure an estimator or a
/// critic rather than train: `critic`, `hypergradient`, `gradient`): the value of a metric
/// at one setting `x` of the swept quantity, for one variant and seed.
public struct MeasurementRow: Sendable, Equatable, Codable {
    /// The variant's label.
    public var variant: String
    /// Name of the swept quantity (e.g. `sigma`, `sgd_steps`).
    public var xName: String
    /// Its value.
    public var x: Double
    /// The seed (0 for deterministic measurements).
    public var seed: UInt64
    /// Name of the measured metric (e.g. `relative_error`).
    public var metric: String
    /// Its value.
    public var y: Double

    /// Creates a row.
    public init(variant: String, xName: String, x: Double, seed: UInt64, metric: String, y: Double) {
        self.variant = variant; self.xName = xName; self.x = x; self.seed = seed; self.metric = metric; self.y = y
    }
}

/// What a study's report opens with: the question, and how to turn the numbers into a
/// one-sentence answer.
public struct StudyQuestion: Sendable, Equatable, Codable {
    /// The question the study answers, as a sentence.
    public var question: String
    /// How the answer is read off the results.
    public var answer: AnswerRule
    /// The practical-difference margin of the answer, in normalized value: two medians closer
    /// than this are a tie (`compare`), and a best variant less than this above the runner-up
    /// is not called clearly best (`best`), whatever their intervals. Stated in the report.
    public var margin: Double = StudyQuestion.defaultMargin

    /// The margin of a study that sets none (`margin:` in a study file).
    public static let defaultMargin = 0.01

    /// Creates a question.
    public init(question: String, answer: AnswerRule = .best, margin: Double = StudyQuestion.defaultMargin) {
        self.question = question
        self.answer = answer
        self.margin = margin
    }

    enum CodingKeys: String, CodingKey { case question, answer, margin }

    /// Decodes a question; one written before margins existed gets the default margin.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        question = try c.decode(String.self, forKey: .question)
        answer = try c.decode(AnswerRule.self, forKey: .answer)
        margin = try c.decodeIfPresent(Double.self, forKey: .margin) ?? Self.defaultMargin
    }

    /// Rules that turn results into the answer sentence.
    public enum AnswerRule: Sendable, Equatable, Codable {
        /// Which variant has the highest median normalized value at the largest budget, in each
        /// panel (env × link × feedback), and whether its 95% interval separates it from the next.
        case best
        /// Whether the best of group A beats the best of group B at equal queries, at every
        /// budget and in each panel: "beats" when A's interval lies above B's, "loses" when
        /// below, "ties" when they overlap.
        case compare(groupA: [String], nameA: String, groupB: [String], nameB: String)
        /// Measurement studies: how the metric changes along x (first vs last x, per variant).
        case trend
        /// The smallest budget of the study at which each variant's median final normalized
        /// value reaches the threshold, in each panel (variants that never do are named with
        /// their best median).
        case threshold(Double)
    }
}
