import Foundation
import HTTPTypes
import Hummingbird

/// Authenticates every `/api` request: `Authorization: Bearer TOKEN` (the SHA-256 hex of the
/// token looked up in the store) or the page's `rlhf_session` cookie (its hash looked up among
/// unexpired sessions). A cookie-authenticated request other than GET/HEAD must carry
/// `X-RLHF-Request: 1`, which a cross-site form cannot send (403 without it).
///
/// No or unknown credentials: 401. Whether the caller may use a route (administrators only)
/// is each route's check (``ServiceRequestContext/administrator()``).
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = ServiceRequestContext

    /// The name of the page's session cookie.
    static let sessionCookie = "rlhf_session"

    let store: any LabelStore
    let clock: @Sendable () -> Date

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.identity = try await Self.identify(request, store: store, now: clock())
        return try await next(request, context)
    }

    /// The caller of `request`, or a 401/403 `ServiceError`.
    static func identify(_ request: Request, store: any LabelStore, now: Date) async throws -> Identity {
        if let authorization = request.headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                throw ServiceError.unauthorized("the Authorization header must be `Bearer TOKEN`")
            }
            let token = parts[1].trimmingCharacters(in: .whitespaces)
            guard AccessToken.isPlausible(Substring(token)),
                  let annotator = try await store.annotator(tokenHash: AccessToken.hash(token))
            else {
                throw ServiceError.unauthorized("unknown token")
            }
            return Identity(annotator: annotator, credential: .bearer)
        }
        if let session = sessionToken(of: request) {
            let hash = AccessToken.hash(session)
            guard AccessToken.isPlausible(Substring(session)),
                  let annotator = try await store.sessionAnnotator(tokenHash: hash, now: now)
            else {
                throw ServiceError.unauthorized("the session has expired or was signed out; sign in again")
            }
            if request.method != .get && request.method != .head && request.headers[.xRLHFRequest] != "1" {
                throw ServiceError.forbidden("a request authenticated by the session cookie must carry the header X-RLHF-Request: 1")
            }
            return Identity(annotator: annotator, credential: .session(tokenHash: hash))
        }
        throw ServiceError.unauthorized("missing credentials: send Authorization: Bearer TOKEN")
    }

    /// The value of the `rlhf_session` cookie, if the request has one.
    static func sessionToken(of request: Request) -> String? {
        guard let value = request.cookies[sessionCookie]?.value, !value.isEmpty else { return nil }
        return value
    }
}
