extension TrainConfiguration {
    /// The smallest budget with which a run of this configuration does any learning: one
    /// iteration of a zeroth-order method, one round of the online baselines and of the bilevel
    /// method, one labeled pair for the offline ones, nothing for PPO on the true reward.
    /// Studies check it before anything runs.
    public func minimumBudget(tabular: Bool) -> Int {
        switch algorithm {
        case .zpg, .zbcpg: return queriesPerIteration
        case .onlineDPO: return resolvedDPO.pairsPerRound * evaluators
        case .rmPPO: return resolvedRMPPO(tabular: tabular).pairsPerRound * evaluators
        case .bilevel: return bilevel.pairsPerIteration * evaluators
        case .dpo, .rmPPOOffline: return evaluators
        case .ppoTrueReward: return 0
        }
    }
}
