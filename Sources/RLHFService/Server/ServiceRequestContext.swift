import Hummingbird
import Logging
import NIOCore

/// The per-request context of the service's router: Hummingbird's core storage plus who is
/// asking, filled in by ``AuthenticationMiddleware``.
public struct ServiceRequestContext: RequestContext {
    /// Hummingbird's storage (logger, route parameters).
    public var coreContext: CoreRequestContextStorage
    /// The authenticated caller, nil before authentication (and on public routes).
    var identity: Identity?

    /// A context for one request.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.identity = nil
    }

    /// The caller, or 401 (only reached on routes behind ``AuthenticationMiddleware``).
    func caller() throws -> Identity {
        guard let identity else { throw ServiceError.unauthorized("missing credentials: send Authorization: Bearer TOKEN") }
        return identity
    }

    /// The caller if an administrator; 403 for an annotator's token.
    func administrator() throws -> Identity {
        let identity = try caller()
        guard identity.annotator.isAdmin else {
            throw ServiceError.forbidden("this route needs an administrator's token")
        }
        return identity
    }
}

/// An authenticated caller: the annotator and how they proved it.
struct Identity: Sendable {
    /// How a request was authenticated.
    enum Credential: Sendable, Equatable {
        /// `Authorization: Bearer TOKEN`.
        case bearer
        /// The page's `rlhf_session` cookie; the session token's hash.
        case session(tokenHash: String)
    }

    /// The annotator.
    var annotator: Annotator
    /// The credential used.
    var credential: Credential
}
