import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The labeling page's routes: the sign-in form, sign-in and sign-out, the labeling and status
/// pages, and the built-in assets. They serve fixed files only: names, keys and projects reach
/// the page through the JSON routes, which the page's scripts insert as text.
struct PageRoutes {
    let store: any LabelStore
    let configuration: ServiceConfiguration
    let clock: @Sendable () -> Date

    /// `GET /`: the sign-in form.
    func signInPage(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        try Self.asset("index.html")
    }

    /// `POST /login` with the form field `token`: starts a session (`rlhf_session`, HttpOnly,
    /// SameSite=Strict) and redirects to `/label`. A wrong token is a 401 for the page's script
    /// (which sends `X-RLHF-Request: 1`) and a redirect to `/?error=1` for a plain form.
    func login(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        let buffer = try await RequestBodyReader.bytes(of: request, limit: configuration.maximumBodyBytes)
        let form = FormBody.fields(String(decoding: buffer.readableBytesView, as: UTF8.self))
        let fromScript = request.headers[.xRLHFRequest] == "1"
        guard let token = form["token"]?.trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty else {
            if !fromScript { return Self.redirect(to: "/?error=1") }
            throw ServiceError.badRequest("missing form field `token`")
        }
        guard AccessToken.isPlausible(Substring(token)),
              let annotator = try await store.annotator(tokenHash: AccessToken.hash(token))
        else {
            if !fromScript { return Self.redirect(to: "/?error=1") }
            throw ServiceError.unauthorized("unknown token")
        }
        let session = AccessToken.generate()
        let lifetime = configuration.sessionLifetimeSeconds
        try await store.addSession(
            annotatorID: annotator.id, tokenHash: AccessToken.hash(session),
            expiresAt: clock().addingTimeInterval(TimeInterval(lifetime)))
        var response = Self.redirect(to: "/label")
        response.headers[.setCookie] = Self.sessionCookie(session, maxAge: lifetime)
        return response
    }

    /// `POST /logout` (cookie and `X-RLHF-Request: 1`): ends the session and clears the cookie.
    func logout(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        let caller = try context.caller()
        if case .session(let hash) = caller.credential {
            try await store.deleteSession(tokenHash: hash)
        }
        var response = try JSONResponse.make(["status": "signed out"])
        response.headers[.setCookie] = Self.sessionCookie("", maxAge: 0)
        return response
    }

    /// `GET /label` and `GET /status`: the page for a signed-in annotator; without a session, a
    /// redirect to the sign-in form (`/?expired=1` when the cookie is no longer valid).
    func signedInPage(_ name: String) -> @Sendable (Request, ServiceRequestContext) async throws -> Response {
        { [store, clock] request, _ in
            guard let session = AuthenticationMiddleware.sessionToken(of: request) else {
                return Self.redirect(to: "/")
            }
            guard AccessToken.isPlausible(Substring(session)),
                  try await store.sessionAnnotator(tokenHash: AccessToken.hash(session), now: clock()) != nil
            else {
                return Self.redirect(to: "/?expired=1")
            }
            return try Self.asset(name)
        }
    }

    /// `GET /assets/{file}`: a built-in file, or 404.
    func assetFile(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        guard let name = context.parameters.get("file") else { throw ServiceError.notFound("no such asset") }
        var response = try Self.asset(name)
        response.headers[.cacheControl] = "no-cache"
        return response
    }

    /// The built-in file `name`, or a 404.
    static func asset(_ name: String) throws -> Response {
        guard let asset = BuiltInAssets.files[name] else {
            throw ServiceError.notFound("no such asset")
        }
        return Response(
            status: .ok, headers: [.contentType: asset.contentType],
            body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }

    /// 303 See Other to `location` (a fixed path of this service).
    static func redirect(to location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// The `Set-Cookie` value of the session cookie (`maxAge` 0 clears it).
    static func sessionCookie(_ value: String, maxAge: Int) -> String {
        "\(AuthenticationMiddleware.sessionCookie)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict"
    }
}
