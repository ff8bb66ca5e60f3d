extension Bilevel {
    /// Episode pairs on which the learned reward's agreement is measured for the summary.
    public static var summaryAgreementPairs: Int { 1000 }

    /// The summary's figures: the true value of λ′ (the policy tracking λ*(φ)), and the learned
    /// reward's agreement with the true preferences on 1000 fresh pairs from π_λ (stream
    /// (seed ^ 0xA6, …); analysis only, no queries charged), left out when every pair ties.
    public func summaryFigures(value: ([Double]) -> Double) -> [String: Double] {
        var figures = ["lower_level_value": value(lowerLevelParameters)]
        let agreement = rewardAgreement(pairs: Self.summaryAgreementPairs, seed: seed ^ 0xA6)
        if agreement.isFinite { figures["reward_agreement"] = agreement }
        return figures
    }
}
