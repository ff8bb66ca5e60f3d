import RLHF

/// A setting whose value is one of a few names (a policy kind, a block mode…): a value that is
/// not one of them is refused listing them.
protocol SettingChoices {
    /// The names the setting takes.
    static var settingChoices: [String] { get }
}

extension SettingChoices where Self: CaseIterable & RawRepresentable, RawValue == String {
    static var settingChoices: [String] { allCases.map(\.rawValue) }
}

extension PolicyKind: SettingChoices {}
extension GridWorld.FeatureMode: SettingChoices {}
extension ZBCPGHyperparameters.BlockMode: SettingChoices {}
extension DPOReference: SettingChoices {}
extension BilevelDeployment: SettingChoices {}
extension BilevelRewardOptimizer: SettingChoices {}
extension PPOTruncation: SettingChoices {}
extension LinkFunction.Kind: SettingChoices {}
extension AlgorithmName: SettingChoices {
    static var settingChoices: [String] { known.map(\.rawValue) }
}
extension EvaluationMode: SettingChoices {}
extension RMPPOQuerySchedule: SettingChoices {}
extension FeedbackConfiguration.Kind: SettingChoices {}
