import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import RLHFService
import Testing

/// The security cases of the labeling service, each with the exact status it must get. The
/// test prints the table of cases and what they got.
@Suite("Labeling service security")
struct ServiceSecurityTests {
    /// One request and the status it must get.
    struct Case {
        var name: String
        var method: HTTPRequest.Method
        var uri: String
        var headers: HTTPFields = [:]
        var body: String?
        var expected: HTTPResponse.Status
        /// A fragment the JSON error must contain (nil: any message).
        var message: String?
    }

    static let xRequest = HTTPField.Name("X-RLHF-Request")!

    @Test("credentials, roles, ownership, limits and input: each case gets its exact status", arguments: StoreBackend.allCases)
    func cases(backend: StoreBackend) async throws {
        try await ServiceFixture.run(backend) { f, client in
            // A project with one comparison; alice holds the lease of its only slot.
            let name = f.project("sec")
            let project = ServiceFixtures.segment(name)
            #expect(try await client.call(.post, "/api/projects", token: f.adminToken, json: ServiceFixtures.projectBody(name, m: 1)).status == .created)
            let ids = try await client.call(.post, "/api/projects/\(project)/comparisons", token: f.adminToken,
                                            json: ServiceFixtures.comparisons([ServiceFixtures.comparison("c0")])).object()["ids"] as? [Int]
            let id = try #require(ids?.first)
            #expect(try await client.call(.get, "/api/projects/\(project)/next", token: f.aliceToken).status == .ok)
            let aliceCookie = try await Self.signIn(client, token: f.aliceToken)

            func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }
            let admin = bearer(f.adminToken), alice = bearer(f.aliceToken), bob = bearer(f.bobToken)
            let answer = "/api/tasks/\(id)/answer"
            let oversized = #"{"slot": 0, "choice": "left", "pad": ""# + String(repeating: "x", count: 16 * 1024) + #""}"#
            let hugeSubmit = #"{"comparisons": [], "pad": ""# + String(repeating: "x", count: 8 * 1024 * 1024) + #""}"#

            var cases: [Case] = [
                // Credentials.
                Case(name: "no token", method: .get, uri: "/api/status", expected: .unauthorized, message: "missing credentials"),
                Case(name: "wrong token", method: .get, uri: "/api/status", headers: bearer("not-a-real-token"), expected: .unauthorized, message: "unknown token"),
                Case(name: "malformed Authorization", method: .get, uri: "/api/status", headers: [.authorization: "Basic YTpi"], expected: .unauthorized),
                Case(name: "wrong token on an admin route", method: .post, uri: "/api/projects", headers: bearer("x"), body: ServiceFixtures.projectBody("z"), expected: .unauthorized),
                Case(name: "unknown session cookie", method: .get, uri: "/api/status", headers: [.cookie: "rlhf_session=forged"], expected: .unauthorized),
                // Roles: an annotator's token on every admin route.
                Case(name: "annotator: create project", method: .post, uri: "/api/projects", headers: alice, body: ServiceFixtures.projectBody(f.project("q")), expected: .forbidden, message: "administrator"),
                Case(name: "annotator: submit comparisons", method: .post, uri: "/api/projects/\(project)/comparisons", headers: alice, body: ServiceFixtures.comparisons([ServiceFixtures.comparison("evil")]), expected: .forbidden),
                Case(name: "annotator: results", method: .post, uri: "/api/projects/\(project)/results", headers: alice, body: #"{"keys": ["c0"]}"#, expected: .forbidden),
                Case(name: "annotator: export", method: .get, uri: "/api/projects/\(project)/export", headers: alice, expected: .forbidden),
                Case(name: "annotator: statistics", method: .get, uri: "/api/projects/\(project)/annotators", headers: alice, expected: .forbidden),
                Case(name: "annotator: add annotator", method: .post, uri: "/api/annotators", headers: alice, body: #"{"name": "mallory", "admin": true}"#, expected: .forbidden),
                Case(name: "annotator cookie: add annotator", method: .post, uri: "/api/annotators", headers: [.cookie: aliceCookie, Self.xRequest: "1"], body: #"{"name": "mallory2", "admin": true}"#, expected: .forbidden),
                // Ownership.
                Case(name: "answering another annotator's leased slot", method: .post, uri: answer, headers: bob, body: #"{"slot": 0, "choice": "left"}"#, expected: .forbidden),
                Case(name: "unknown task id", method: .post, uri: "/api/tasks/987654321/answer", headers: alice, body: #"{"slot": 0, "choice": "left"}"#, expected: .notFound),
                Case(name: "non-numeric task id", method: .post, uri: "/api/tasks/abc/answer", headers: alice, body: #"{"slot": 0, "choice": "left"}"#, expected: .notFound),
                Case(name: "slot beyond this task's M", method: .post, uri: answer, headers: alice, body: #"{"slot": 5, "choice": "left"}"#, expected: .notFound),
                Case(name: "next task of an unknown project", method: .get, uri: "/api/projects/no-such-\(f.tag)/next", headers: alice, expected: .notFound),
                Case(name: "submit to an unknown project", method: .post, uri: "/api/projects/no-such-\(f.tag)/comparisons", headers: admin, body: ServiceFixtures.comparisons([ServiceFixtures.comparison("k")]), expected: .notFound),
                Case(name: "export of an unknown project", method: .get, uri: "/api/projects/no-such-\(f.tag)/export", headers: admin, expected: .notFound),
                // Limits.
                Case(name: "answer body over 16 KiB", method: .post, uri: answer, headers: alice, body: oversized, expected: .contentTooLarge),
                Case(name: "submit body over 8 MiB", method: .post, uri: "/api/projects/\(project)/comparisons", headers: admin, body: hugeSubmit, expected: .contentTooLarge),
                Case(name: "login body over 16 KiB", method: .post, uri: "/login", headers: [.contentType: "application/x-www-form-urlencoded"], body: "token=" + String(repeating: "a", count: 17_000), expected: .contentTooLarge),
                // Input.
                Case(name: "malformed JSON", method: .post, uri: answer, headers: alice, body: #"{"slot": 0, "choice": "#, expected: .badRequest, message: "not valid JSON"),
                Case(name: "empty body", method: .post, uri: answer, headers: alice, body: "", expected: .badRequest, message: "empty"),
                Case(name: "JSON array instead of object", method: .post, uri: answer, headers: alice, body: "[1]", expected: .badRequest, message: "JSON object"),
                Case(name: "slot of the wrong type", method: .post, uri: answer, headers: alice, body: #"{"slot": "0", "choice": "left"}"#, expected: .badRequest, message: "`slot`"),
                Case(name: "missing choice", method: .post, uri: answer, headers: alice, body: #"{"slot": 0}"#, expected: .badRequest, message: "`choice`"),
                Case(name: "unknown choice", method: .post, uri: answer, headers: alice, body: #"{"slot": 0, "choice": "both"}"#, expected: .badRequest, message: "`choice` must be one of"),
                Case(name: "unknown field", method: .post, uri: answer, headers: alice, body: #"{"slot": 0, "choice": "left", "admin": true}"#, expected: .badRequest, message: "`admin`"),
                Case(name: "negative slot", method: .post, uri: answer, headers: alice, body: #"{"slot": -1, "choice": "left"}"#, expected: .badRequest, message: "`slot`"),
                Case(name: "slot out of range", method: .post, uri: answer, headers: alice, body: #"{"slot": 1000, "choice": "left"}"#, expected: .badRequest, message: "`slot`"),
                Case(name: "M = 0", method: .post, uri: "/api/projects", headers: admin, body: ServiceFixtures.projectBody(f.project("m0"), m: 0), expected: .badRequest, message: "`answers_per_pair`"),
                Case(name: "M = 1001", method: .post, uri: "/api/projects", headers: admin, body: ServiceFixtures.projectBody(f.project("m1001"), m: 1001), expected: .badRequest, message: "`answers_per_pair`"),
                Case(name: "environment not an object", method: .post, uri: "/api/projects", headers: admin, body: #"{"name": "e-\#(f.tag)", "environment": "gridworld", "answers_per_pair": 1}"#, expected: .badRequest, message: "`environment`"),
                Case(name: "environment without kind", method: .post, uri: "/api/projects", headers: admin, body: #"{"name": "e-\#(f.tag)", "environment": {"name": "x"}, "answers_per_pair": 1}"#, expected: .badRequest, message: "`environment.kind`"),
                Case(name: "empty project name", method: .post, uri: "/api/projects", headers: admin, body: ServiceFixtures.projectBody(""), expected: .badRequest, message: "`name`"),
                Case(name: "key over 256 characters", method: .post, uri: "/api/projects/\(project)/comparisons", headers: admin, body: ServiceFixtures.comparisons([ServiceFixtures.comparison(String(repeating: "k", count: 257))]), expected: .badRequest, message: "`comparisons[0].key`"),
                Case(name: "empty key", method: .post, uri: "/api/projects/\(project)/comparisons", headers: admin, body: ServiceFixtures.comparisons([ServiceFixtures.comparison("")]), expected: .badRequest, message: "`comparisons[0].key`"),
                Case(name: "trajectory not an object", method: .post, uri: "/api/projects/\(project)/comparisons", headers: admin, body: #"{"comparisons": [{"key": "t", "first": [1], "second": {"states": [0], "actions": []}, "first_return": 0, "second_return": 0, "first_myopic_return": 0, "second_myopic_return": 0}]}"#, expected: .badRequest, message: "`comparisons[0].first`"),
                Case(name: "trajectory without states", method: .post, uri: "/api/projects/\(project)/comparisons", headers: admin, body: #"{"comparisons": [{"key": "t", "first": {"states": [0], "actions": []}, "second": {"actions": []}, "first_return": 0, "second_return": 0, "first_myopic_return": 0, "second_myopic_return": 0}]}"#, expected: .badRequest, message: "`comparisons[0].second.states`"),
                Case(name: "missing return", method: .post, uri: "/api/projects/\(project)/comparisons", headers: admin, body: #"{"comparisons": [{"key": "t", "first": {"states": [0], "actions": []}, "second": {"states": [0], "actions": []}, "first_return": 0, "second_return": 0, "first_myopic_return": 0}]}"#, expected: .badRequest, message: "`comparisons[0].second_myopic_return`"),
                Case(name: "answer stream not hex", method: .post, uri: "/api/projects/\(project)/comparisons", headers: admin, body: #"{"comparisons": [{"key": "t", "first": {"states": [0], "actions": []}, "second": {"states": [0], "actions": []}, "first_return": 0, "second_return": 0, "first_myopic_return": 0, "second_myopic_return": 0, "answer_stream": "zz"}]}"#, expected: .badRequest, message: "`comparisons[0].answer_stream`"),
                Case(name: "keys not strings", method: .post, uri: "/api/projects/\(project)/results", headers: admin, body: #"{"keys": [1]}"#, expected: .badRequest, message: "`keys[0]`"),
                Case(name: "annotator name with a newline", method: .post, uri: "/api/annotators", headers: admin, body: #"{"name": "a\nb"}"#, expected: .badRequest, message: "control characters"),
                // The cookie: only with X-RLHF-Request on POSTs.
                Case(name: "cookie POST without X-RLHF-Request", method: .post, uri: answer, headers: [.cookie: aliceCookie], body: #"{"slot": 0, "choice": "left"}"#, expected: .forbidden, message: "X-RLHF-Request"),
                Case(name: "cookie POST with X-RLHF-Request: 0", method: .post, uri: answer, headers: [.cookie: aliceCookie, Self.xRequest: "0"], body: #"{"slot": 0, "choice": "left"}"#, expected: .forbidden, message: "X-RLHF-Request"),
                Case(name: "cookie logout without X-RLHF-Request", method: .post, uri: "/logout", headers: [.cookie: aliceCookie], expected: .forbidden),
                Case(name: "cookie GET needs no header", method: .get, uri: "/api/status", headers: [.cookie: aliceCookie], expected: .ok),
                Case(name: "wrong token at /login (script)", method: .post, uri: "/login", headers: [.contentType: "application/x-www-form-urlencoded", Self.xRequest: "1"], body: "token=nope", expected: .unauthorized),
                Case(name: "wrong token at /login (plain form)", method: .post, uri: "/login", headers: [.contentType: "application/x-www-form-urlencoded"], body: "token=nope", expected: .seeOther),
                // Router errors.
                Case(name: "unknown route", method: .get, uri: "/api/nothing", headers: admin, expected: .notFound),
                Case(name: "unknown asset", method: .get, uri: "/assets/secret.txt", expected: .notFound, message: "no such asset"),
                Case(name: "asset path traversal", method: .get, uri: "/assets/..%2F..%2FPackage.swift", expected: .notFound),
                Case(name: "wrong method", method: .put, uri: "/api/status", headers: alice, expected: .methodNotAllowed),
            ]
            // The lease owner's own answer works last (after the failed attempts above).
            cases.append(Case(name: "the lease owner answers", method: .post, uri: answer, headers: [.cookie: aliceCookie, Self.xRequest: "1"], body: #"{"slot": 0, "choice": "left"}"#, expected: .ok))
            cases.append(Case(name: "answering a slot answered by someone else", method: .post, uri: answer, headers: bob, body: #"{"slot": 0, "choice": "left"}"#, expected: .forbidden))

            var table: [String] = []
            for c in cases {
                var headers = c.headers
                if c.body != nil && headers[.contentType] == nil { headers[.contentType] = "application/json" }
                let response = try await client.execute(uri: c.uri, method: c.method, headers: headers, body: c.body.map { ByteBuffer(string: $0) })
                table.append("\(response.status == c.expected ? "ok  " : "FAIL") \(response.status.code) (expected \(c.expected.code))  \(c.name)")
                #expect(response.status == c.expected, "\(c.name): \(response.text.prefix(300))")
                if response.status.code >= 400 {
                    #expect(response.headers[.contentType] == "application/json; charset=utf-8", "\(c.name)")
                    let message = response.errorMessage
                    #expect(message != nil, "\(c.name): the error body is {\"error\": …}, got \(response.text.prefix(200))")
                    if let fragment = c.message {
                        #expect(message?.contains(fragment) == true, "\(c.name): \(message ?? "nil") should contain \(fragment)")
                    }
                }
            }
            print("Security cases (\(backend.rawValue)):\n" + table.joined(separator: "\n"))
        }
    }

    @Test("HTML and script in names, keys and projects are stored, returned only inside JSON, never put in a page", arguments: StoreBackend.allCases)
    func hostileText(backend: StoreBackend) async throws {
        try await ServiceFixture.run(backend) { f, client in
            let script = "<script>alert(1)</script><img src=x onerror=alert(2)>"
            let projectName = "\(script)-\(f.tag)"
            let key = "\(script)&key"
            let annotatorName = "\(script)-ann-\(f.tag)"

            let project = try await client.call(.post, "/api/projects", token: f.adminToken, json: ServiceFixtures.projectBody(projectName, m: 1))
            #expect(project.status == .created)
            #expect(project.headers[.contentType] == "application/json; charset=utf-8")
            #expect(try project.object()["name"] as? String == projectName)

            let added = try await client.call(.post, "/api/annotators", token: f.adminToken, json: #"{"name": \#(ServiceFixtures.quoted(annotatorName))}"#)
            #expect(added.status == .created)
            let token = try #require(try added.object()["token"] as? String)

            let segment = ServiceFixtures.segment(projectName)
            let submitted = try await client.call(.post, "/api/projects/\(segment)/comparisons", token: f.adminToken,
                                                  json: ServiceFixtures.comparisons([ServiceFixtures.comparison(key)]))
            #expect(submitted.status == .ok)
            let task = try await client.call(.get, "/api/projects/\(segment)/next", token: token)
            #expect(task.status == .ok)
            #expect(task.headers[.contentType] == "application/json; charset=utf-8")
            #expect(try task.object()["project"] as? String == projectName)
            let id = try #require(try task.object()["id"] as? Int)
            #expect(try await client.call(.post, "/api/tasks/\(id)/answer", token: token, json: #"{"slot": 0, "choice": "tie"}"#).status == .ok)

            let status = try await client.call(.get, "/api/status", token: token)
            #expect(status.headers[.contentType] == "application/json; charset=utf-8")
            #expect(try status.object()["annotator"] as? String == annotatorName)
            let export = try await client.call(.get, "/api/projects/\(segment)/export", token: f.adminToken)
            #expect(export.headers[.contentType] == "application/x-ndjson; charset=utf-8")
            let line = try JSONSerialization.jsonObject(with: Data(export.text.split(separator: "\n")[0].utf8)) as? [String: Any]
            #expect(line?["key"] as? String == key)
            #expect(line?["annotator"] as? String == annotatorName)
            #expect(line?["project"] as? String == projectName)
            let results = try await client.call(.post, "/api/projects/\(segment)/results", token: f.adminToken, json: #"{"keys": [\#(ServiceFixtures.quoted(key))]}"#)
            #expect(results.headers[.contentType] == "application/json; charset=utf-8")
            #expect((try results.object()["results"] as? [[String: Any]])?.first?["key"] as? String == key)

            // The pages are fixed files: signed in as the hostile annotator, no page echoes the text.
            let cookie = try await Self.signIn(client, token: token)
            for path in ["/", "/label", "/status", "/assets/app.js", "/nowhere/\(ServiceFixtures.segment(script))", "/assets/\(ServiceFixtures.segment(script))"] {
                let page = try await client.call(.get, path, headers: [.cookie: cookie])
                #expect(!page.text.contains("<script>alert"), "\(path) echoes the text")
                #expect(!page.text.contains("onerror"), "\(path) echoes the text")
            }
        }
    }

    @Test("an expired session is refused (401) and logout ends a session", arguments: StoreBackend.allCases)
    func sessions(backend: StoreBackend) async throws {
        try await ServiceFixture.run(backend, configuration: ServiceConfiguration(sessionLifetimeSeconds: 3600)) { f, client in
            let first = try await Self.signIn(client, token: f.aliceToken)
            #expect(try await client.call(.get, "/api/status", headers: [.cookie: first]).status == .ok)
            f.clock.advance(3601)
            let expired = try await client.call(.get, "/api/status", headers: [.cookie: first])
            #expect(expired.status == .unauthorized)
            #expect(expired.errorMessage?.contains("expired") == true)
            #expect(try await client.call(.get, "/label", headers: [.cookie: first]).headers[.location] == "/?expired=1")

            let second = try await Self.signIn(client, token: f.aliceToken)
            #expect(second != first)
            #expect(try await client.call(.get, "/api/status", headers: [.cookie: second]).status == .ok)
            #expect(try await client.call(.post, "/logout", headers: [.cookie: second, Self.xRequest: "1"]).status == .ok)
            #expect(try await client.call(.get, "/api/status", headers: [.cookie: second]).status == .unauthorized)
            #expect(try await client.call(.post, "/logout", headers: [.cookie: second, Self.xRequest: "1"]).status == .unauthorized)
            // The bearer token is not a session: it still works.
            #expect(try await client.call(.get, "/api/status", token: f.aliceToken).status == .ok)
        }
    }

    /// Signs in through `POST /login` and returns the `Cookie` header value.
    static func signIn(_ client: any TestClientProtocol, token: String) async throws -> String {
        let login = try await client.execute(
            uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
            body: ByteBuffer(string: "token=\(ServiceFixtures.segment(token))"))
        #expect(login.status == .seeOther)
        let setCookie = try #require(login.headers[.setCookie])
        return String(setCookie.split(separator: ";")[0])
    }
}
