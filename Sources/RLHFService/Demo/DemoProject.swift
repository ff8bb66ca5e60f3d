import Foundation
import RLHF

/// The ready project of `rlhf serve --demo`: pairs from a ZPG run on the `classic` GridWorld,
/// so that a person can try labeling in a browser with one command.
public enum DemoProject {
    /// The project's name.
    public static let name = "classic-zpg"

    /// A source that keeps every request it is asked (with the trajectories) and lets the
    /// panel answer, so that a short in-process ZPG run yields the pairs ZPG would show people.
    final class Capture: PreferenceSource, @unchecked Sendable {
        let panel: EvaluatorPanel
        var requests: [ComparisonRequest] = []
        init(_ panel: EvaluatorPanel) { self.panel = panel }
        var answersPerPair: Int { panel.evaluators }
        var needsTrajectories: Bool { true }
        func judge(_ requests: [ComparisonRequest]) throws -> [Double?] {
            self.requests += requests
            return panel.judge(requests)
        }
    }

    /// The project and `pairs` comparisons: ZPG (tabular softmax, M = `answersPerPair`) runs on
    /// `classic` from the uniform policy for `iterations` iterations with seed `seed`, and the
    /// last `pairs` pairs it asked about (π_θ against π_{θ+μv}) are the comparisons.
    public static func make(pairs: Int = 16, answersPerPair: Int = 3, iterations: Int = 60,
                            seed: UInt64 = 0) throws -> (project: NewProject, comparisons: [NewComparison]) {
        let preset = GridWorldPreset.named("classic")!
        let env = try GridWorld(preset: preset, options: preset.options)
        let panel = try EvaluatorPanel(link: .bradleyTerry, evaluators: answersPerPair)
        let capture = Capture(panel)
        let family = TabularSoftmax(stateCount: env.stateCount, actionCount: env.actionCount)
        var hyper = ZPGHyperparameters()
        hyper.pairs = max(1, min(pairs, 8))
        var zpg = try ZPG(env: env, family: family, panel: panel, hyper: hyper, seed: seed, source: capture)
        var ledger = try QueryLedger(budget: Limits.budget)
        var t = 0
        while t < iterations || capture.requests.count < pairs {
            _ = try zpg.iterate(t, ledger: &ledger)
            t += 1
        }
        let environment = String(decoding: labelingDescription(of: env, name: "classic"), as: UTF8.self)
        let comparisons = capture.requests.suffix(pairs).map { r in
            NewComparison(key: "demo/\(r.key)", first: String(decoding: r.trajectories!.first, as: UTF8.self),
                          second: String(decoding: r.trajectories!.second, as: UTF8.self),
                          firstReturn: r.first.totalReturn, secondReturn: r.second.totalReturn,
                          firstMyopicReturn: r.first.myopicReturn, secondMyopicReturn: r.second.myopicReturn)
        }
        return (NewProject(name: name, environment: environment, answersPerPair: answersPerPair, simulated: false), comparisons)
    }

    /// Creates the demo project with its comparisons in `store` (idempotent: a second start
    /// finds them) and an annotator; returns the annotator's name and token.
    public static func install(into store: any LabelStore, pairs: Int = 16) async throws -> (name: String, token: String) {
        let (project, comparisons) = try make(pairs: pairs)
        _ = try await store.createProject(project)
        _ = try await store.submit(project: project.name, comparisons: comparisons)
        let name = "demo-\(UInt32.random(in: 0...UInt32.max))"
        let (annotator, token) = try await AnnotatorEnrollment.add(name: name, isAdmin: false, to: store)
        return (annotator.name, token)
    }
}
