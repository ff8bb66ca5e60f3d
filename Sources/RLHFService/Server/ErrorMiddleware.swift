import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Turns every error a route throws into the contract's `{"error": "message"}` with its
/// status. Errors that are not the client's fault become a 500 whose body says only
/// "internal error" (the details go to the log, never to the client).
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as ServiceError {
            return JSONResponse.error(error)
        } catch let error as LabelStoreError {
            return JSONResponse.error(Self.serviceError(for: error, context: context))
        } catch let error as HTTPError {
            // The router's own errors: 404 for an unknown route, and the like.
            let message: String = switch error.status {
            case .notFound: "no such route"
            case .methodNotAllowed: "method not allowed on this route"
            default: error.status.reasonPhrase
            }
            return JSONResponse.error(ServiceError(error.status, message, headers: error.headers))
        } catch is NIOTooManyBytesError {
            return JSONResponse.error(ServiceError(.contentTooLarge, "request body too large"))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            context.logger.error("internal error on \(request.method) \(request.uri.path): \(String(reflecting: error))")
            return JSONResponse.error(ServiceError(.internalServerError, "internal error"))
        }
    }

    /// The HTTP form of a store's refusal.
    static func serviceError(for error: LabelStoreError, context: Context) -> ServiceError {
        switch error {
        case .duplicateAnnotatorName: return .conflict(error.description)
        case .unknownProject: return .notFound(error.description)
        case .invalidValue: return .badRequest(error.description)
        case .unknownAnnotator: return .unauthorized("unknown annotator")
        case .cannotOpen, .corrupt:
            context.logger.error("store error: \(error.description)")
            return ServiceError(.internalServerError, "internal error (the label store)")
        }
    }
}
