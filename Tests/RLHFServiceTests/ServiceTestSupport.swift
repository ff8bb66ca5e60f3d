import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import RLHFService
import Synchronization
import Testing

/// A clock the tests move forward by hand. It starts at the real time: the stores purge
/// expired sessions by the real clock, so the session of a clock in the past would be purged
/// by the next sign-in.
final class ServiceTestClock: Sendable {
    private let date = Mutex(Date())
    var now: Date { date.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { date.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// A running service over a real store (``LabelStoreFixture/withStore(_:_:)``), with an
/// administrator and two annotators.
struct ServiceFixture: Sendable {
    let store: any LabelStore
    let clock: ServiceTestClock
    let configuration: ServiceConfiguration
    /// A suffix that makes this fixture's names unique.
    let tag: String
    let adminName: String
    let adminToken: String
    let aliceName: String
    let aliceToken: String
    let bobName: String
    let bobToken: String

    /// Builds the fixture over a new store of `backend` and runs `body` with a client of the
    /// application (`.router` unless `setup` says otherwise); closes the store afterwards.
    static func run(
        _ backend: StoreBackend,
        setup: TestingSetup = .router,
        configuration: ServiceConfiguration = ServiceConfiguration(),
        _ body: @Sendable (ServiceFixture, any TestClientProtocol) async throws -> Void
    ) async throws {
        // A fresh store (a temporary SQLite file, or a fresh PostgreSQL schema; the PostgreSQL
        // case is skipped with a notice when RLHF_POSTGRES_URL is not set).
        try await LabelStoreFixture.withStore(backend) { store in
            try await store.migrate()
            let tag = String(UUID().uuidString.prefix(8)).lowercased()
            let admin = try await AnnotatorEnrollment.add(name: "admin-\(tag)", isAdmin: true, to: store)
            let alice = try await AnnotatorEnrollment.add(name: "alice-\(tag)", isAdmin: false, to: store)
            let bob = try await AnnotatorEnrollment.add(name: "bob-\(tag)", isAdmin: false, to: store)
            var configuration = configuration
            configuration.port = 0
            let fixture = ServiceFixture(
                store: store, clock: ServiceTestClock(), configuration: configuration, tag: tag,
                adminName: admin.annotator.name, adminToken: admin.token,
                aliceName: alice.annotator.name, aliceToken: alice.token,
                bobName: bob.annotator.name, bobToken: bob.token)
            let clock = fixture.clock
            let app = buildApplication(store: store, configuration: configuration, clock: { clock.now })
            try await app.test(setup) { client in try await body(fixture, client) }
        }
    }

    /// A project name unique to this fixture.
    func project(_ name: String) -> String { "\(name)-\(tag)" }
}

/// Request helpers.
extension TestClientProtocol {
    /// A request with a bearer token (or none) and a JSON (or raw) body.
    func call(
        _ method: HTTPRequest.Method, _ uri: String, token: String? = nil, json: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        if json != nil { headers[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }
}

extension TestResponse {
    /// The body as text.
    var text: String { String(buffer: body) }

    /// The body parsed as a JSON object (fails the test otherwise).
    func object(sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let value = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        return try #require(value as? [String: Any], "not a JSON object: \(text)", sourceLocation: sourceLocation)
    }

    /// The `error` message of a JSON error body.
    var errorMessage: String? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) .flatMap { ($0 as? [String: Any])?["error"] as? String }
    }
}

/// JSON text of test values.
enum ServiceFixtures {
    static let environment = ######"{"kind": "gridworld", "name": "classic", "map": ["#####", "#S.G#", "#####"], "positions": [[1, 1], [1, 2], [1, 3]], "actions": ["up", "down", "right", "left"], "horizon": 3}"######

    static func projectBody(_ name: String, m: Int = 2, simulated: Bool = false) -> String {
        #"{"name": \#(quoted(name)), "environment": \#(environment), "answers_per_pair": \#(m), "simulated": \#(simulated)}"#
    }

    static func comparison(_ key: String, firstReturn: Double = 0.5, secondReturn: Double = -1, stream: Bool = true) -> String {
        let answerStream = stream ? #", "answer_stream": "\#(String(repeating: "0123456789abcdef", count: 4))""# : ""
        return #"{"key": \#(quoted(key)), "first": {"states": [0, 1], "actions": [2, 2], "rewards": [0, 1]}, "second": {"states": [0, 0], "actions": [3, 1], "rewards": [0, -1]}, "first_return": \#(firstReturn), "second_return": \#(secondReturn), "first_myopic_return": \#(firstReturn), "second_myopic_return": \#(secondReturn)\#(answerStream)}"#
    }

    static func comparisons(_ items: [String]) -> String { #"{"comparisons": [\#(items.joined(separator: ", "))]}"# }

    /// `text` as a JSON string literal.
    static func quoted(_ text: String) -> String {
        String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
    }

    /// `text` percent-encoded for a path segment.
    static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~")))!
    }
}
