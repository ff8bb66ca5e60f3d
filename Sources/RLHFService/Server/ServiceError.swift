import Foundation
import HTTPTypes
import Hummingbird

/// An error a route answers with: an HTTP status and a message for the client, sent as
/// `{"error": "message"}` (the contract's only error shape).
///
/// Messages never contain a stack trace, and text that came from the request appears in them
/// only inside this JSON (never in HTML).
public struct ServiceError: Error, Sendable, CustomStringConvertible {
    /// The response status.
    public var status: HTTPResponse.Status
    /// The message for the client.
    public var message: String
    /// Extra headers (`Allow` on a 405, `WWW-Authenticate` on a 401).
    public var headers: HTTPFields

    /// An error with `status` and `message`.
    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    /// The message (the status is in ``status``).
    public var description: String { message }

    /// 400: the body or a parameter is not what the route takes.
    static func badRequest(_ message: String) -> ServiceError { .init(.badRequest, message) }
    /// 401: no credentials or unknown ones.
    static func unauthorized(_ message: String) -> ServiceError {
        .init(.unauthorized, message, headers: [.wwwAuthenticate: "Bearer realm=\"rlhf\""])
    }
    /// 403: known credentials that may not do this.
    static func forbidden(_ message: String) -> ServiceError { .init(.forbidden, message) }
    /// 404.
    static func notFound(_ message: String) -> ServiceError { .init(.notFound, message) }
    /// 409: the request contradicts what is stored.
    static func conflict(_ message: String) -> ServiceError { .init(.conflict, message) }
    /// 413.
    static func tooLarge(limit: Int) -> ServiceError {
        .init(.contentTooLarge, "request body too large (at most \(limit) bytes on this route)")
    }
}
