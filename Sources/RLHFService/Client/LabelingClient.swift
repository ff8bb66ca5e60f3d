import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import RLHF

/// A blocking client of the labeling service's JSON API (`Docs/LabelingService.md`), for the
/// trainer (``ServicePreferenceSource``) and the simulated annotators (``SimulatedAnnotator``).
public final class LabelingClient: @unchecked Sendable {
    /// The service's base URL.
    public let server: URL
    let token: String
    let session: URLSession

    /// A failed request: the route, the status and the service's message.
    public struct Failure: Error, CustomStringConvertible {
        public var route: String
        public var status: Int?
        public var message: String
        public var description: String {
            status.map { "\(route): HTTP \($0): \(message)" } ?? "\(route): \(message)"
        }
        /// Whether trying again later may succeed (the service is down or restarting).
        public var isTransient: Bool { status == nil || status! >= 500 }
    }

    /// A client for `server` that sends `token` with every request.
    public init(server: String, token: String, timeout: Double = 30) throws {
        guard let url = URL(string: server), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw RLHFError.invalidArgument(name: "server", message: "'\(server)' is not an http:// or https:// URL")
        }
        guard !token.isEmpty else { throw RLHFError.invalidArgument(name: "token", message: "the token is empty") }
        self.server = url
        self.token = token
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.httpMaximumConnectionsPerHost = 8
        session = URLSession(configuration: configuration)
    }

    /// Sends one request and returns the status and body; throws ``Failure`` when the service
    /// cannot be reached.
    public func send(_ method: String, _ path: String, json: Any? = nil) throws -> (status: Int, body: Data) {
        var request = URLRequest(url: server.appendingPathComponent(path))
        request.httpMethod = method
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Data?, URLResponse?, (any Error)?) = (nil, nil, nil)
        session.dataTask(with: request) { data, response, error in
            result = (data, response, error)
            done.signal()
        }.resume()
        done.wait()
        if let error = result.2 {
            throw Failure(route: "\(method) \(path)", status: nil, message: "cannot reach \(server.absoluteString) (\(error.localizedDescription))")
        }
        guard let http = result.1 as? HTTPURLResponse else {
            throw Failure(route: "\(method) \(path)", status: nil, message: "no HTTP response from \(server.absoluteString)")
        }
        return (http.statusCode, result.0 ?? Data())
    }

    /// ``send(_:_:json:)`` that expects one of `accepted` statuses and a JSON object (or no body
    /// for 204); anything else is a ``Failure`` carrying the service's error message.
    public func call(_ method: String, _ path: String, json: Any? = nil, accepted: Set<Int> = [200, 201]) throws -> (status: Int, object: [String: Any]) {
        let (status, body) = try send(method, path, json: json)
        guard accepted.contains(status) else {
            let message = (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["error"] as? String
                ?? String(decoding: body.prefix(300), as: UTF8.self)
            throw Failure(route: "\(method) \(path)", status: status, message: message)
        }
        if status == 204 || body.isEmpty { return (status, [:]) }
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw Failure(route: "\(method) \(path)", status: status, message: "the response is not a JSON object")
        }
        return (status, object)
    }

    /// The path component of a name, percent-encoded.
    static func component(_ name: String) -> String {
        name.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._"))) ?? name
    }
}
