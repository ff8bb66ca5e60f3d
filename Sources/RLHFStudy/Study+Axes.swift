import Foundation
import RLHF

extension Study {
    /// The settings that are axes of every training study, with the axis that sets them. A
    /// variant of another axis (or `settings`) that set one would override the axis while its
    /// runs kept the axis's label in `results.csv` and `report.md`, so it is refused.
    static let axisSettings: [(property: String, noun: String, axis: String)] = [
        ("environment", "environment", "environments"), ("link", "link", "links"), ("algorithm", "algorithm", "algorithms"),
    ]

    /// The longest variant label, in characters (labels name run folders, table rows and plot
    /// legends).
    public static let maximumLabelLength = 100

    /// Checks that every run is labelled by what it ran: no feedback or algorithm variant, and
    /// no `settings` entry, sets a setting that is an axis of the study (`environment`, `link`,
    /// `algorithm`), and no setting is set by both a feedback and an algorithm variant.
    ///
    /// - Throws: ``StudyError`` at the offending key, naming the axis to use instead.
    static func checkAxes(settings: StudyValue?, feedback: StudyValue?, algorithms: StudyValue?) throws {
        let known = ConfigurationOverrides.propertyNames(of: TrainConfiguration())
        // The settings a map sets; two spellings of one setting (`mu` and `Mu`, `block-mode` and
        // `block_mode`) are a duplicate key.
        func keys(_ v: StudyValue, skipping: Set<String>, path: String) throws -> [(property: String, key: String, location: StudyLocation)] {
            guard case .map(let entries, _) = v else { return [] }
            let found = entries.filter { !skipping.contains($0.key) }.compactMap { e in
                ConfigurationOverrides.match(e.key, in: known).map { (property: $0, key: e.key, location: e.keyLocation) }
            }
            for (i, k) in found.enumerated() {
                if let first = found[..<i].first(where: { $0.property == k.property }) {
                    throw StudyError("duplicate key: the same setting as '\(first.key)' (\(first.location)); give it once",
                                     key: "\(path).\(k.key)", at: k.location)
                }
            }
            return found
        }
        func refuseAxis(_ property: String, key: String, at location: StudyLocation, in place: String, allowing: String? = nil) throws {
            guard let a = axisSettings.first(where: { $0.property == property }), a.axis != allowing else { return }
            let why = place == "settings"
                ? "the study's '\(a.axis)' axis is applied after 'settings' and would override it"
                : "set here it would override the study's '\(a.axis)' axis while the runs kept the axis's label"
            throw StudyError("the \(a.noun) is an axis of the study: \(why); list it under '\(a.axis)' instead",
                             key: key, at: location)
        }
        if let settings {
            for k in try keys(settings, skipping: [], path: "settings") { try refuseAxis(k.property, key: "settings.\(k.key)", at: k.location, in: "settings") }
        }
        var setByFeedback: [String: (variant: String, location: StudyLocation)] = [:]
        for (i, f) in (feedback?.elements() ?? []).enumerated() {
            for k in try keys(f, skipping: ["label"], path: "feedback[\(i)]") {
                try refuseAxis(k.property, key: "feedback[\(i)].\(k.key)", at: k.location, in: "feedback")
                if setByFeedback[k.property] == nil { setByFeedback[k.property] = ("feedback[\(i)]", k.location) }
            }
        }
        for (i, a) in (algorithms?.elements() ?? []).enumerated() {
            for k in try keys(a, skipping: ["label", "budgets"], path: "algorithms[\(i)]") {
                try refuseAxis(k.property, key: "algorithms[\(i)].\(k.key)", at: k.location, in: "algorithms", allowing: "algorithms")
                if let f = setByFeedback[k.property] {
                    throw StudyError("also set by the feedback variant \(f.variant) (\(f.location)): the algorithm variant would override "
                                     + "the feedback axis while the runs kept its label; set '\(k.key)' in one axis only",
                                     key: "algorithms[\(i)].\(k.key)", at: k.location)
                }
            }
        }
    }

    /// Checks a variant's label: not empty, no control characters, at most ``maximumLabelLength`` characters, and not
    /// the same run-folder name as an earlier label of its axis (`a b` and `a_b` both become
    /// `a_b`).
    static func checkLabel(_ variant: Variant, key: String, at location: StudyLocation, against earlier: [Variant]) throws {
        let label = variant.label
        if label.trimmingCharacters(in: .whitespaces).isEmpty {
            throw StudyError("an empty label; give it a 'label' with letters or digits", key: key, at: location)
        }
        if label.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw StudyError("a control character (line break, tab, …) in the label; labels name table rows, plot legends "
                             + "and CSV fields", key: key, at: location)
        }
        if label.count > maximumLabelLength {
            throw StudyError("the label has \(label.count) characters; labels name run folders and table rows and have at most "
                             + "\(maximumLabelLength): give it a shorter 'label'", key: key, at: location)
        }
        if let same = earlier.first(where: { $0.label == label }) {
            throw StudyError("label '\(label)' is used twice (first at \(same.location.map(String.init(describing:)) ?? "an earlier entry")); "
                             + "give each a distinct 'label'", key: key, at: location)
        }
        // Run folders must differ on case-insensitive disks (macOS, SMB shares) too.
        let folder = StudyPlan.safe(label)
        if let same = earlier.first(where: { StudyPlan.safe($0.label).lowercased() == folder.lowercased() }) {
            throw StudyError("labels '\(same.label)' (\(same.location.map(String.init(describing:)) ?? "an earlier entry")) and '\(label)' "
                             + "both become '\(folder)' in run-folder names, ignoring case (characters other than letters, digits, '-', '.' and '=' "
                             + "become '_'), so their runs would share folders; give one a distinct 'label'", key: key, at: location)
        }
    }
}
