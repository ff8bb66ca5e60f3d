import Foundation
import Testing
@testable import RLHFService

/// The two store backends every `LabelStore` test runs against.
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// Fresh, empty, migrated stores for the tests: a temporary SQLite file, or a fresh schema in
/// the PostgreSQL database of `RLHF_POSTGRES_URL`.
enum LabelStoreFixture {
    /// The PostgreSQL URL of the environment, or nil.
    static var postgresURL: String? {
        guard let url = ProcessInfo.processInfo.environment["RLHF_POSTGRES_URL"], !url.isEmpty else { return nil }
        return url
    }

    /// Printed once when the PostgreSQL half of the tests is skipped.
    static let skipNotice: Void = {
        print("SKIPPED: PostgreSQL tests (set RLHF_POSTGRES_URL; scripts/postgres-local.sh start prints one)")
    }()

    /// Runs `body` with a fresh store of `backend` and removes it afterwards. Without
    /// `RLHF_POSTGRES_URL`, the PostgreSQL backend prints the skip notice and returns.
    static func withStore(_ backend: StoreBackend,
                          _ body: (any LabelStore) async throws -> Void) async throws {
        switch backend {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory
                .appendingPathComponent("rlhf-labelstore-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let store = try await openLabelStore(folder + "/labels.sqlite")
            do {
                try await body(store)
            } catch {
                try? await store.close()
                throw error
            }
            try await store.close()
        case .postgres:
            guard let url = postgresURL else {
                _ = skipNotice
                return
            }
            let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            let separator = url.contains("?") ? "&" : "?"
            let store = try await openLabelStore(url + separator + "schema=" + schema + "&sslmode=disable")
            let postgres = try #require(store as? PostgresLabelStore)
            do {
                try await body(store)
            } catch {
                try? await postgres.dropSchema()
                try? await store.close()
                throw error
            }
            try await postgres.dropSchema()
            try await store.close()
        }
    }

    /// A comparison with key `key`, small trajectories and the given returns.
    static func comparison(_ key: String, firstReturn: Double = 0, secondReturn: Double = 1,
                           stream: String? = nil) -> NewComparison {
        NewComparison(
            key: key,
            first: #"{"states":[0,1],"actions":["right"],"rewards":[0]}"#,
            second: #"{"states":[0,7],"actions":["down"],"rewards":[1]}"#,
            firstReturn: firstReturn, secondReturn: secondReturn,
            firstMyopicReturn: firstReturn / 2, secondMyopicReturn: secondReturn / 2,
            answerStream: stream)
    }

    /// A project description with `m` answers per pair.
    static func project(_ name: String, m: Int, simulated: Bool = false) -> NewProject {
        NewProject(name: name, environment: #"{"kind":"generic","name":"bandit","actions":["0","1"],"horizon":1}"#,
                   answersPerPair: m, simulated: simulated)
    }

    /// A fixed instant (2026-12-07T01:00:00Z) the tests count time from.
    static let t0 = Date(timeIntervalSince1970: 1_796_605_200)

    /// Creates a project with `count` comparisons `c0`, `c1`, … and returns their ids.
    static func seed(_ store: any LabelStore, project: String, m: Int, count: Int) async throws -> [Int64] {
        _ = try await store.createProject(Self.project(project, m: m))
        let outcomes = try await store.submit(
            project: project, comparisons: (0 ..< count).map { comparison("c\($0)") })
        return outcomes.map { $0.id! }
    }

    /// Adds annotators with these names (tokens `token-NAME`).
    static func annotators(_ store: any LabelStore, _ names: [String]) async throws -> [Annotator] {
        var result: [Annotator] = []
        for name in names {
            result.append(try await store.addAnnotator(name: name, tokenHash: "hash-\(name)", isAdmin: false))
        }
        return result
    }
}
