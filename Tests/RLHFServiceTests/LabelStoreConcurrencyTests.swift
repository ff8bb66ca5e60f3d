import Foundation
import Testing
@testable import RLHFService

/// Many annotators racing `nextTask` and `answer` on one project, on both backends.
@Suite("LabelStore concurrency")
struct LabelStoreConcurrencyTests {
    /// What one annotator task sent and was told.
    struct Sent: Sendable, Hashable {
        var comparisonID: Int64
        var slot: Int
        var annotator: String
        var choice: Choice
    }

    @Test("50 annotators, 200 comparisons × M = 3: exactly 600 answers, each slot and pair once",
          arguments: StoreBackend.allCases)
    func race(_ backend: StoreBackend) async throws {
        try await LabelStoreFixture.withStore(backend) { store in
            let comparisons = 200, m = 3, annotatorCount = 50
            let ids = try await LabelStoreFixture.seed(store, project: "race", m: m, count: comparisons)
            let people = try await LabelStoreFixture.annotators(store, (0 ..< annotatorCount).map { "bot\($0)" })
            let sent = try await withThrowingTaskGroup(of: [Sent].self) { group in
                for (index, person) in people.enumerated() {
                    group.addTask {
                        var mine: [Sent] = []
                        var turn = 0
                        while let task = try await store.nextTask(project: "race", annotatorID: person.id,
                                                                  now: Date(), lease: 600) {
                            let choice = Choice.allCases[(index + turn) % 4]
                            turn += 1
                            let outcome = try await store.answer(comparisonID: task.comparisonID, slot: task.slot,
                                                                 annotatorID: person.id, choice: choice, now: Date())
                            guard outcome == .recorded else {
                                throw LabelStoreError.corrupt("\(person.name) got \(outcome) for \(task.comparisonID)/\(task.slot)")
                            }
                            mine.append(Sent(comparisonID: task.comparisonID, slot: task.slot, annotator: person.name,
                                             choice: choice))
                        }
                        return mine
                    }
                }
                var all: [Sent] = []
                for try await part in group { all += part }
                return all
            }
            #expect(sent.count == comparisons * m)
            #expect(Set(sent.map { "\($0.comparisonID)/\($0.slot)" }).count == comparisons * m)
            #expect(Set(sent.map { "\($0.comparisonID)/\($0.annotator)" }).count == comparisons * m)
            #expect(Set(sent.map(\.comparisonID)) == Set(ids))
            #expect(sent.allSatisfy { $0.slot >= 0 && $0.slot < m })
            // The store holds exactly what each annotator sent, attributed to them.
            let rows = try await store.export(project: "race")
            #expect(rows.count == comparisons * m)
            let stored = Set(rows.map { Sent(comparisonID: $0.comparisonID, slot: $0.slot, annotator: $0.annotator,
                                             choice: $0.choice) })
            #expect(stored == Set(sent))
            let results = try await store.results(project: "race", keys: (0 ..< comparisons).map { "c\($0)" })
            #expect(results.allSatisfy { $0.complete && $0.answers == m })
            let status = try await store.status(annotatorID: people[0].id, now: Date())
            #expect(status.projects == [ProjectStatus(name: "race", queue: 0, complete: comparisons, comparisons: comparisons)])
        }
    }

    @Test("one annotator asking 20 times at once gets one task", arguments: StoreBackend.allCases)
    func sameAnnotatorRace(_ backend: StoreBackend) async throws {
        try await LabelStoreFixture.withStore(backend) { store in
            _ = try await LabelStoreFixture.seed(store, project: "p", m: 3, count: 5)
            let alice = try await LabelStoreFixture.annotators(store, ["alice"])[0]
            let now = LabelStoreFixture.t0
            let tasks = try await withThrowingTaskGroup(of: LabelTask?.self) { group in
                for _ in 0 ..< 20 {
                    group.addTask { try await store.nextTask(project: "p", annotatorID: alice.id, now: now, lease: 600) }
                }
                var all: [LabelTask?] = []
                for try await task in group { all.append(task) }
                return all
            }
            #expect(tasks.count == 20)
            #expect(Set(tasks.map { $0.map { "\($0.comparisonID)/\($0.slot)" } ?? "none" }).count == 1)
            #expect(tasks[0]?.key == "c0" && tasks[0]?.slot == 0)
        }
    }
}
