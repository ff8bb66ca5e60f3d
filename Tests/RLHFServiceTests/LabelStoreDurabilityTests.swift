import Foundation
import Testing
@testable import RLHFService
#if canImport(Glibc)
import Glibc
#endif

/// An answer the store acknowledged survives a kill -9 of the process that wrote it: a child
/// process (this test binary, running `durabilityChild`) answers tasks and logs each recorded
/// answer after `answer` returns; the parent kills it with SIGKILL mid-run and finds every
/// logged answer in the database.
@Suite("LabelStore durability")
struct LabelStoreDurabilityTests {
    static let databaseVariable = "RLHF_DURABILITY_CHILD_DB"
    static let logVariable = "RLHF_DURABILITY_CHILD_LOG"

    /// The child's half: does nothing unless the parent set the variables.
    @Test("durability child (runs only when started by the kill -9 test)")
    func durabilityChild() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let path = environment[Self.databaseVariable], let logPath = environment[Self.logVariable] else { return }
        let store = try SQLiteLabelStore(path: path)
        let annotator = try #require(try await store.annotator(tokenHash: "hash-child"))
        let log = try #require(FileHandle(forWritingAtPath: logPath))
        while let task = try await store.nextTask(project: "p", annotatorID: annotator.id, now: Date(), lease: 600) {
            let outcome = try await store.answer(comparisonID: task.comparisonID, slot: task.slot,
                                                 annotatorID: annotator.id, choice: .right, now: Date())
            if outcome == .recorded {
                log.write(Data("\(task.comparisonID)\n".utf8)) // a write(2): outlives the process
            }
        }
    }

    @Test("SQLite: every acknowledged answer survives kill -9")
    func killNine() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-durability-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/labels.sqlite", logPath = folder + "/acknowledged.txt"
        do {
            let store = try await openLabelStore(path)
            _ = try await store.createProject(LabelStoreFixture.project("p", m: 1))
            _ = try await store.submit(project: "p", comparisons: (0 ..< 5000).map { LabelStoreFixture.comparison("c\($0)") })
            _ = try await store.addAnnotator(name: "child", tokenHash: "hash-child", isAdmin: false)
            try await store.close()
        }
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let child = Process()
        child.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        child.arguments = ["--testing-library", "swift-testing", "--filter", "durabilityChild"]
        var environment = ProcessInfo.processInfo.environment
        environment[Self.databaseVariable] = path
        environment[Self.logVariable] = logPath
        child.environment = environment
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        // Let it record a good number of answers, then kill it mid-stream.
        let deadline = Date() + 120
        func acknowledged() throws -> [Int64] {
            let text = try String(contentsOfFile: logPath, encoding: .utf8)
            let complete = text.hasSuffix("\n") ? text : String(text[..<(text.lastIndex(of: "\n") ?? text.startIndex)])
            return complete.split(separator: "\n").compactMap { Int64($0) }
        }
        while try acknowledged().count < 200 && Date() < deadline && child.isRunning {
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        #expect(child.isRunning, "the child stopped before it was killed")
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        #expect(child.terminationReason == .uncaughtSignal)
        let acked = try acknowledged()
        #expect(acked.count >= 200)
        let store = try await openLabelStore(path)
        let rows = try await store.export(project: "p")
        let stored = Set(rows.map(\.comparisonID))
        #expect(Set(acked).isSubset(of: stored))
        #expect(rows.allSatisfy { $0.annotator == "child" && $0.choice == .right })
        // At most the answer in flight at the kill is stored without being logged.
        #expect(stored.count - acked.count <= 1)
        try await store.close()
    }
}
