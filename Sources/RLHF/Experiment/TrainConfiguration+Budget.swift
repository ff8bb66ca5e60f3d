extension TrainConfiguration {
    /// The smallest budget with which a run of this configuration does any learning: one
    /// iteration of a zeroth-order method, one round of online DPO, of RM + PPO with fixed rounds
    /// and of the bilevel method, one labeled pair (M queries) for scheduled RM + PPO (the
    /// default) and the offline methods, nothing for PPO on the true reward. Every budget from
    /// it up runs.
    /// Studies check it before anything runs.
    public func minimumBudget(tabular: Bool) -> Int {
        switch algorithm {
        case .zpg, .zbcpg: return queriesPerIteration
        case .onlineDPO: return resolvedDPO.pairsPerRound * evaluators
        case .rmPPO: return (resolvedRMPPO(tabular: tabular).pairsPerRound ?? 1) * evaluators
        case .bilevel: return bilevel.pairsPerIteration * evaluators
        case .dpo, .rmPPOOffline: return evaluators
        case .ppoTrueReward: return 0
        default: return AlgorithmRegistry.factory(named: algorithm.rawValue)?.minimumBudget(self) ?? evaluators
        }
    }
}
