import Foundation
import Hummingbird

/// Route parameters, percent-decoded and checked.
enum RouteParameter {
    /// The `{project}` name.
    static func project(_ context: ServiceRequestContext) throws -> String {
        guard let raw = context.parameters.get("project"), let name = raw.removingPercentEncoding, !name.isEmpty else {
            throw ServiceError.notFound("no such project")
        }
        return name
    }

    /// The `{id}` of a task: a positive integer, else 404 (no task has such an id).
    static func taskID(_ context: ServiceRequestContext) throws -> Int64 {
        guard let raw = context.parameters.get("id"), let id = Int64(raw), id > 0 else {
            throw ServiceError.notFound("no such task")
        }
        return id
    }
}
