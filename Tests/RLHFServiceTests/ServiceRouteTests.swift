import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import RLHFService
import Testing

/// The happy path of every route of Docs/LabelingService.md, against the real stores.
@Suite("Labeling service routes")
struct ServiceRouteTests {
    @Test("projects: 201 created, 200 the same again, 409 a different one", arguments: StoreBackend.allCases)
    func createProject(backend: StoreBackend) async throws {
        try await ServiceFixture.run(backend) { f, client in
            let name = f.project("p")
            let created = try await client.call(.post, "/api/projects", token: f.adminToken, json: ServiceFixtures.projectBody(name))
            #expect(created.status == .created)
            let body = try created.object()
            #expect(body["name"] as? String == name)
            #expect(body["answers_per_pair"] as? Int == 2)
            #expect(body["simulated"] as? Bool == false)
            #expect((body["environment"] as? [String: Any])?["kind"] as? String == "gridworld")

            let again = try await client.call(.post, "/api/projects", token: f.adminToken, json: ServiceFixtures.projectBody(name))
            #expect(again.status == .ok)
            let different = try await client.call(.post, "/api/projects", token: f.adminToken, json: ServiceFixtures.projectBody(name, m: 3))
            #expect(different.status == .conflict)
            #expect(different.errorMessage == "a different project with this name exists")
        }
    }

    @Test("comparisons: ids in the order sent, idempotent by key, 409 on different content", arguments: StoreBackend.allCases)
    func submitComparisons(backend: StoreBackend) async throws {
        try await ServiceFixture.run(backend) { f, client in
            let name = f.project("p")
            _ = try await client.call(.post, "/api/projects", token: f.adminToken, json: ServiceFixtures.projectBody(name))
            let uri = "/api/projects/\(ServiceFixtures.segment(name))/comparisons"
            let first = try await client.call(.post, uri, token: f.adminToken,
                                              json: ServiceFixtures.comparisons([ServiceFixtures.comparison("a"), ServiceFixtures.comparison("b")]))
            #expect(first.status == .ok)
            let ids = try #require(try first.object()["ids"] as? [Int])
            #expect(ids.count == 2 && ids[0] != ids[1])

            // Same keys, same content, other order, plus a new one.
            let second = try await client.call(.post, uri, token: f.adminToken,
                                               json: ServiceFixtures.comparisons([ServiceFixtures.comparison("b"), ServiceFixtures.comparison("a"), ServiceFixtures.comparison("c")]))
            #expect(second.status == .ok)
            let ids2 = try #require(try second.object()["ids"] as? [Int])
            #expect(Array(ids2.prefix(2)) == [ids[1], ids[0]])
            #expect(ids2.count == 3 && !ids.contains(ids2[2]))

            let clash = try await client.call(.post, uri, token: f.adminToken,
                                              json: ServiceFixtures.comparisons([ServiceFixtures.comparison("d"), ServiceFixtures.comparison("a", firstReturn: 7)]))
            #expect(clash.status == .conflict)
            #expect(clash.errorMessage?.hasPrefix("comparisons[1]:") == true)
            // Nothing of the refused batch was stored: "d" is unknown.
            let results = try await client.call(.post, "/api/projects/\(ServiceFixtures.segment(name))/results", token: f.adminToken,
                                                json: #"{"keys": ["d", "a"]}"#)
            let rows = try #require(try results.object()["results"] as? [[String: Any]])
            #expect(rows.map { $0["unknown"] as? Bool } == [true, false])
        }
    }

    @Test("a task: leased, the same on asking again, answered, duplicate, status, results, export, statistics", arguments: StoreBackend.allCases)
    func taskLifecycle(backend: StoreBackend) async throws {
        try await ServiceFixture.run(backend) { f, client in
            let name = f.project("p")
            let project = ServiceFixtures.segment(name)
            _ = try await client.call(.post, "/api/projects", token: f.adminToken, json: ServiceFixtures.projectBody(name, m: 2))
            let submitted = try await client.call(.post, "/api/projects/\(project)/comparisons", token: f.adminToken,
                                                  json: ServiceFixtures.comparisons([ServiceFixtures.comparison("k1")]))
            let id = try #require((try submitted.object()["ids"] as? [Int])?.first)

            // The project is open for alice.
            let listed = try await client.call(.get, "/api/projects", token: f.aliceToken)
            #expect(listed.status == .ok)
            let projects = try #require(try listed.object()["projects"] as? [[String: Any]])
            let mine = try #require(projects.first { $0["name"] as? String == name })
            #expect(mine["open"] as? Int == 1)
            #expect(mine["answers_per_pair"] as? Int == 2)

            // Alice's task, the same on asking again.
            let next = try await client.call(.get, "/api/projects/\(project)/next", token: f.aliceToken)
            #expect(next.status == .ok)
            #expect(next.headers[.contentType] == "application/json; charset=utf-8")
            let task = try next.object()
            #expect(task["id"] as? Int == id)
            #expect(task["project"] as? String == name)
            let slot = try #require(task["slot"] as? Int)
            #expect((0..<2).contains(slot))
            #expect((task["issued_at"] as? String)?.hasSuffix("Z") == true)
            #expect(task["simulation"] == nil)
            let firstTrajectory = try #require(task["first"] as? [String: Any])
            #expect(firstTrajectory["states"] as? [Int] == [0, 1])
            #expect(firstTrajectory["actions"] as? [Int] == [2, 2])
            #expect(firstTrajectory["rewards"] == nil, "rewards are never sent in a non-simulated project")
            #expect((task["environment"] as? [String: Any])?["name"] as? String == "classic")
            let again = try await client.call(.get, "/api/projects/\(project)/next", token: f.aliceToken)
            #expect(try again.object()["slot"] as? Int == slot)
            #expect(try again.object()["issued_at"] as? String == task["issued_at"] as? String)

            // Answer, then the same answer again.
            f.clock.advance(2.5)
            let answer = try await client.call(.post, "/api/tasks/\(id)/answer", token: f.aliceToken, json: #"{"slot": \#(slot), "choice": "right"}"#)
            #expect(answer.status == .ok)
            #expect(try answer.object()["status"] as? String == "recorded")
            let duplicate = try await client.call(.post, "/api/tasks/\(id)/answer", token: f.aliceToken, json: #"{"slot": \#(slot), "choice": "right"}"#)
            #expect(duplicate.status == .ok)
            #expect(try duplicate.object()["status"] as? String == "duplicate")
            let changed = try await client.call(.post, "/api/tasks/\(id)/answer", token: f.aliceToken, json: #"{"slot": \#(slot), "choice": "left"}"#)
            #expect(changed.status == .conflict)

            // Nothing left for alice (she answered the only comparison); bob gets the other slot.
            let none = try await client.call(.get, "/api/projects/\(project)/next", token: f.aliceToken)
            #expect(none.status == .noContent)
            #expect(none.body.readableBytes == 0)
            let bobTask = try await client.call(.get, "/api/projects/\(project)/next", token: f.bobToken).object()
            let bobSlot = try #require(bobTask["slot"] as? Int)
            #expect(bobSlot != slot)
            let bobAnswer = try await client.call(.post, "/api/tasks/\(id)/answer", token: f.bobToken, json: #"{"slot": \#(bobSlot), "choice": "tie"}"#)
            #expect(bobAnswer.status == .ok)

            // Status.
            let status = try await client.call(.get, "/api/status", token: f.aliceToken).object()
            #expect(status["annotator"] as? String == f.aliceName)
            #expect(status["answered"] as? Int == 1)
            #expect(status["answered_today"] as? Int == 1)
            let progress = try #require((status["projects"] as? [[String: Any]])?.first { $0["name"] as? String == name })
            #expect(progress["comparisons"] as? Int == 1)
            #expect(progress["complete"] as? Int == 1)
            #expect(progress["queue"] as? Int == 0)

            // Results.
            let results = try await client.call(.post, "/api/projects/\(project)/results", token: f.adminToken, json: #"{"keys": ["k1", "nope"]}"#)
            #expect(results.status == .ok)
            let rows = try #require(try results.object()["results"] as? [[String: Any]])
            #expect(rows.count == 2)
            #expect(rows[0]["key"] as? String == "k1")
            #expect(rows[0]["answers"] as? Int == 2)
            #expect(rows[0]["right"] as? Int == 1)
            #expect(rows[0]["tie"] as? Int == 1)
            #expect(rows[0]["left"] as? Int == 0)
            #expect(rows[0]["skip"] as? Int == 0)
            #expect(rows[0]["complete"] as? Bool == true)
            #expect(rows[1]["key"] as? String == "nope")
            #expect(rows[1]["answers"] as? Int == 0)
            #expect(rows[1]["complete"] as? Bool == false)

            // Export: one JSON line an answer, ordered by slot.
            let export = try await client.call(.get, "/api/projects/\(project)/export", token: f.adminToken)
            #expect(export.status == .ok)
            #expect(export.headers[.contentType] == "application/x-ndjson; charset=utf-8")
            let lines = export.text.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            #expect(lines.count == 2)
            #expect(lines.map { $0["slot"] as? Int } == [min(slot, bobSlot), max(slot, bobSlot)])
            let aliceLine = try #require(lines.first { $0["annotator"] as? String == f.aliceName })
            #expect(aliceLine["choice"] as? String == "right")
            #expect(aliceLine["key"] as? String == "k1")
            #expect(aliceLine["project"] as? String == name)
            #expect(aliceLine["comparison_id"] as? Int == id)
            #expect(aliceLine["time_to_answer_ms"] as? Int == 2500)
            #expect(aliceLine["first_return"] as? Double == 0.5)
            #expect(aliceLine["second_return"] as? Double == -1)
            #expect(((aliceLine["first"] as? [String: Any])?["rewards"] as? [Int]) == [0, 1], "the export keeps the rewards")
            for field in ["issued_at", "answered_at", "second", "first_myopic_return", "second_myopic_return"] {
                #expect(aliceLine[field] != nil, "export field \(field)")
            }

            // Annotator statistics.
            let stats = try await client.call(.get, "/api/projects/\(project)/annotators", token: f.adminToken)
            #expect(stats.status == .ok)
            let entries = try #require(try stats.object()["annotators"] as? [[String: Any]])
            #expect(entries.map { $0["name"] as? String } == [f.aliceName, f.bobName])
            #expect(entries[0]["answers"] as? Int == 1)
            #expect(entries[0]["median_time_to_answer_ms"] as? Double == 2500)
            #expect(entries[0]["truth_agreement"] as? Double == 0, "alice chose right, the first return is higher")
            #expect(entries[0]["truth_compared"] as? Int == 1)
            #expect(entries[1]["truth_agreement"] is NSNull, "a tie has no preference")
        }
    }

    @Test("a simulated project's task carries the returns, the answer stream and the rewards", arguments: StoreBackend.allCases)
    func simulatedTask(backend: StoreBackend) async throws {
        try await ServiceFixture.run(backend) { f, client in
            let name = f.project("sim")
            let project = ServiceFixtures.segment(name)
            let created = try await client.call(.post, "/api/projects", token: f.adminToken, json: ServiceFixtures.projectBody(name, m: 1, simulated: true))
            #expect(created.status == .created)
            _ = try await client.call(.post, "/api/projects/\(project)/comparisons", token: f.adminToken,
                                      json: ServiceFixtures.comparisons([ServiceFixtures.comparison("s", firstReturn: 0.9, secondReturn: -1)]))
            let task = try await client.call(.get, "/api/projects/\(project)/next", token: f.aliceToken).object()
            #expect(task["slot"] as? Int == 0)
            let simulation = try #require(task["simulation"] as? [String: Any])
            #expect(simulation["first_return"] as? Double == 0.9)
            #expect(simulation["second_return"] as? Double == -1)
            #expect(simulation["first_myopic_return"] as? Double == 0.9)
            #expect(simulation["second_myopic_return"] as? Double == -1)
            #expect(simulation["answer_stream"] as? String == String(repeating: "0123456789abcdef", count: 4))
            #expect(((task["first"] as? [String: Any])?["rewards"] as? [Int]) == [0, 1])
        }
    }

    @Test("an expired lease returns the slot to the queue", arguments: StoreBackend.allCases)
    func leaseExpiry(backend: StoreBackend) async throws {
        try await ServiceFixture.run(backend, configuration: ServiceConfiguration(leaseSeconds: 60)) { f, client in
            let name = f.project("lease")
            let project = ServiceFixtures.segment(name)
            _ = try await client.call(.post, "/api/projects", token: f.adminToken, json: ServiceFixtures.projectBody(name, m: 1))
            _ = try await client.call(.post, "/api/projects/\(project)/comparisons", token: f.adminToken,
                                      json: ServiceFixtures.comparisons([ServiceFixtures.comparison("x")]))
            let alice = try await client.call(.get, "/api/projects/\(project)/next", token: f.aliceToken).object()
            let expiresAt = try #require(alice["expires_at"] as? String)
            #expect(expiresAt != alice["issued_at"] as? String)
            #expect(try await client.call(.get, "/api/projects/\(project)/next", token: f.bobToken).status == .noContent)
            f.clock.advance(61)
            let bob = try await client.call(.get, "/api/projects/\(project)/next", token: f.bobToken)
            #expect(bob.status == .ok)
            let id = try #require(try bob.object()["id"] as? Int)
            #expect(try await client.call(.post, "/api/tasks/\(id)/answer", token: f.bobToken, json: #"{"slot": 0, "choice": "skip"}"#).status == .ok)
            // Alice's lease is gone: the slot is bob's now.
            #expect(try await client.call(.post, "/api/tasks/\(id)/answer", token: f.aliceToken, json: #"{"slot": 0, "choice": "left"}"#).status == .forbidden)
        }
    }

    @Test("an administrator adds an annotator whose token then works", arguments: StoreBackend.allCases)
    func addAnnotator(backend: StoreBackend) async throws {
        try await ServiceFixture.run(backend) { f, client in
            let name = "carol-\(f.tag)"
            let created = try await client.call(.post, "/api/annotators", token: f.adminToken, json: #"{"name": "\#(name)", "admin": false}"#)
            #expect(created.status == .created)
            let body = try created.object()
            #expect(body["name"] as? String == name)
            let token = try #require(body["token"] as? String)
            #expect(token.count == 43)
            let status = try await client.call(.get, "/api/status", token: token)
            #expect(status.status == .ok)
            #expect(try status.object()["annotator"] as? String == name)
            let again = try await client.call(.post, "/api/annotators", token: f.adminToken, json: #"{"name": "\#(name)"}"#)
            #expect(again.status == .conflict)
        }
    }

    @Test("the page: sign-in form, login sets the cookie, labeling and status pages, assets, logout", arguments: StoreBackend.allCases)
    func pageRoutes(backend: StoreBackend) async throws {
        try await ServiceFixture.run(backend) { f, client in
            let index = try await client.call(.get, "/")
            #expect(index.status == .ok)
            #expect(index.headers[.contentType] == "text/html; charset=utf-8")
            #expect(index.text.contains("<form"))

            // Without a session the pages send the browser to the sign-in form.
            let anonymous = try await client.call(.get, "/label")
            #expect(anonymous.status == .seeOther)
            #expect(anonymous.headers[.location] == "/")

            let login = try await client.execute(
                uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "token=\(ServiceFixtures.segment(f.aliceToken))"))
            #expect(login.status == .seeOther)
            #expect(login.headers[.location] == "/label")
            let setCookie = try #require(login.headers[.setCookie])
            #expect(setCookie.hasPrefix("rlhf_session="))
            #expect(setCookie.contains("HttpOnly"))
            #expect(setCookie.contains("SameSite=Strict"))
            #expect(setCookie.contains("Path=/"))
            let cookie = String(setCookie.split(separator: ";")[0])

            for (path, marker) in [("/label", "label"), ("/status", "status")] {
                let page = try await client.call(.get, path, headers: [.cookie: cookie])
                #expect(page.status == .ok, "\(path)")
                #expect(page.headers[.contentType] == "text/html; charset=utf-8")
                #expect(page.text.lowercased().contains(marker))
            }
            let status = try await client.call(.get, "/api/status", headers: [.cookie: cookie])
            #expect(status.status == .ok)
            #expect(try status.object()["annotator"] as? String == f.aliceName)

            for (file, type) in [("app.js", "text/javascript; charset=utf-8"), ("app.css", "text/css; charset=utf-8"),
                                 ("index.html", "text/html; charset=utf-8")] {
                let asset = try await client.call(.get, "/assets/\(file)")
                #expect(asset.status == .ok, "\(file)")
                #expect(asset.headers[.contentType] == type, "\(file)")
                #expect(asset.body.readableBytes > 0)
            }

            let logout = try await client.call(.post, "/logout", headers: [.cookie: cookie, .init("X-RLHF-Request")!: "1"])
            #expect(logout.status == .ok)
            #expect(logout.headers[.setCookie]?.contains("Max-Age=0") == true)
            #expect(try await client.call(.get, "/api/status", headers: [.cookie: cookie]).status == .unauthorized)
            let after = try await client.call(.get, "/label", headers: [.cookie: cookie])
            #expect(after.status == .seeOther)
            #expect(after.headers[.location] == "/?expired=1")
        }
    }

    @Test("every response carries the security headers, errors included; 404 and 405 are JSON", arguments: StoreBackend.allCases)
    func securityHeadersAndRouterErrors(backend: StoreBackend) async throws {
        try await ServiceFixture.run(backend) { f, client in
            let notFound = try await client.call(.get, "/nowhere")
            #expect(notFound.status == .notFound)
            #expect(notFound.errorMessage == "no such route")
            let wrongMethod = try await client.call(.delete, "/api/projects", token: f.adminToken)
            #expect(wrongMethod.status == .methodNotAllowed)
            #expect(wrongMethod.headers[.allow] == "GET, POST, HEAD")
            #expect(wrongMethod.errorMessage != nil)
            let responses = [
                notFound, wrongMethod,
                try await client.call(.get, "/"),
                try await client.call(.get, "/assets/app.js"),
                try await client.call(.get, "/api/status", token: f.aliceToken),
                try await client.call(.get, "/api/status"),
            ]
            for response in responses {
                #expect(response.headers[.contentSecurityPolicy] == "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                #expect(response.headers[.init("Referrer-Policy")!] == "no-referrer")
            }
            for response in [notFound, wrongMethod, responses[5]] {
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
            }
        }
    }

    // Through the router, not a live socket: HummingbirdTesting's live client gives up after
    // 20 s, and inside `swift test` on 2 cores the CPU-bound suites can hold every thread of the
    // concurrency pool for longer. The service over real TCP is exercised by
    // scripts/service-e2e.sh, scripts/service-kill-test.sh and scripts/browser_test.py (CI).
    @Test("an oversized body is refused with 413, and the service still serves", arguments: StoreBackend.allCases)
    func oversizedBody(backend: StoreBackend) async throws {
        try await ServiceFixture.run(backend, setup: .router) { f, client in
            let status = try await client.call(.get, "/api/status", token: f.aliceToken)
            #expect(status.status == .ok)
            let big = String(repeating: " ", count: 20_000) + #"{"slot": 0, "choice": "left"}"#
            let tooLarge = try await client.call(.post, "/api/tasks/1/answer", token: f.aliceToken, json: big)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(tooLarge.errorMessage?.contains("too large") == true)
            // The connection (or a new one) still serves.
            #expect(try await client.call(.get, "/api/status", token: f.aliceToken).status == .ok)
        }
    }
}
