import Foundation
import Testing
@testable import RLHFService
import RLHF

/// `rlhf serve --demo`: a ready project of pairs from a ZPG run on `classic`.
@Suite("Demo project")
struct DemoProjectTests {
    @Test("the demo's pairs are ZPG's last pairs on classic, for people (no returns shown), installed once", arguments: StoreBackend.allCases)
    func demo(_ backend: StoreBackend) async throws {
        let (project, comparisons) = try DemoProject.make(pairs: 16)
        #expect(comparisons.count == 16)
        #expect(!project.simulated, "people label the demo: its tasks must not carry returns")
        #expect(Set(comparisons.map(\.key)).count == 16)
        let env = try #require(try JSONSerialization.jsonObject(with: Data(project.environment.utf8)) as? [String: Any])
        #expect(env["kind"] as? String == "gridworld")
        let positions = try #require(env["positions"] as? [[Int]])
        for c in comparisons {
            for text in [c.first, c.second] {
                let t = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
                let states = try #require(t["states"] as? [Int]), actions = try #require(t["actions"] as? [Int])
                #expect(!states.isEmpty && states.count == actions.count)
                #expect(states.allSatisfy { positions.indices.contains($0) } && actions.allSatisfy { (0..<4).contains($0) })
                #expect(states.first == 0, "every episode starts on S")
            }
        }
        // The last pairs of the run: the keys name its last iteration.
        #expect(comparisons.last!.key.hasPrefix("demo/zpg/t"))
        try await LabelStoreFixture.withStore(backend) { store in
            let first = try await DemoProject.install(into: store, pairs: 16)
            let second = try await DemoProject.install(into: store, pairs: 16)
            #expect(first.name != second.name)
            let stored = try await store.results(project: DemoProject.name, keys: comparisons.map(\.key))
            #expect(stored.count == 16 && stored.allSatisfy { !$0.unknown })
        }
    }
}
