/// How a simulated evaluator departs from the ideal one (B-Pref's noisy teachers, spec §3).
///
/// The ideal evaluator answers "τ1 preferred" with probability σ(R(τ1) − R(τ0)). A teacher
/// changes what it sees or what it says; the effects compose in this order:
/// 1. myopic: it sees returns weighted by γ_m^{T−1−t} (recent steps count more);
/// 2. skip: if both (perceived) returns are below ``skipThreshold`` the pair is dropped — the
///    query is still paid for;
/// 3. equal: if |ΔR| < ``equalThreshold`` each answer is a fair coin;
/// 4. mistake: each answer is flipped with probability ``mistakeRate``.
/// The default teacher is the ideal evaluator.
public struct Teacher: Sendable, Equatable, Codable {
    /// Probability ε_m of flipping each answer.
    public var mistakeRate: Double = 0
    /// |ΔR| below this gives a fair coin (0 disables).
    public var equalThreshold: Double = 0
    /// A pair whose two returns are both below this is dropped (nil disables).
    public var skipThreshold: Double? = nil
    /// γ_m of the myopic teacher (1 is not myopic).
    public var myopicDiscount: Double = 1

    /// The ideal evaluator.
    public init() {}

    /// Creates a teacher; throws on rates outside [0, 1] or non-finite thresholds.
    public init(mistakeRate: Double = 0, equalThreshold: Double = 0, skipThreshold: Double? = nil,
                myopicDiscount: Double = 1) throws {
        self.mistakeRate = mistakeRate
        self.equalThreshold = equalThreshold
        self.skipThreshold = skipThreshold
        self.myopicDiscount = myopicDiscount
        try validate()
    }

    /// Throws unless the rates lie in [0, 1] and the thresholds are finite (the equal threshold
    /// non-negative). Every way a teacher is set — options, `--set`, study files, checkpoints —
    /// goes through this check (``TrainConfiguration/validate()`` calls it).
    public func validate() throws {
        try Validate.inRange(mistakeRate, 0...1, "teacher.mistake-rate (--mistake-rate)")
        try Validate.nonNegative(equalThreshold, "teacher.equal-threshold (--equal-threshold)")
        if let s = skipThreshold { try Validate.finite(s, "teacher.skip-threshold (--skip-threshold)") }
        try Validate.inRange(myopicDiscount, 0...1, "teacher.myopic-discount (--myopic-discount)")
    }

    /// Whether this is the ideal evaluator.
    public var isIdeal: Bool {
        mistakeRate == 0 && equalThreshold == 0 && skipThreshold == nil && myopicDiscount == 1
    }
}
