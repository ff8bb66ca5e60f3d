import Foundation
import HTTPTypes
import Hummingbird

/// The routes every annotator may use (any valid token): the projects with work, the next
/// task, answering it, and the annotator's progress.
struct AnnotatorRoutes {
    let store: any LabelStore
    let configuration: ServiceConfiguration
    let clock: @Sendable () -> Date

    /// `GET /api/projects`: the projects with a task this annotator could take.
    func projects(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        let caller = try context.caller()
        let counts = try await store.openCounts(annotatorID: caller.annotator.id, now: clock())
        let listed = counts.filter { $0.open > 0 }.map {
            ProjectListBody.Entry(name: $0.project.name, answersPerPair: $0.project.answersPerPair, open: $0.open, simulated: $0.project.simulated)
        }
        return try JSONResponse.make(ProjectListBody(projects: listed))
    }

    /// `GET /api/projects/{project}/next`: this annotator's leased task, a newly leased one,
    /// or 204 when nothing is left for them.
    func next(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        let caller = try context.caller()
        let project = try RouteParameter.project(context)
        guard let task = try await store.nextTask(
            project: project, annotatorID: caller.annotator.id, now: clock(),
            lease: TimeInterval(configuration.leaseSeconds))
        else {
            return Response(status: .noContent)
        }
        return try JSONResponse.make(try TaskBody(task))
    }

    /// `POST /api/tasks/{id}/answer` with `{"slot", "choice"}`.
    func answer(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        let caller = try context.caller()
        let id = try RouteParameter.taskID(context)
        let body = try await RequestBodyReader.decode(AnswerBody.self, from: request, limit: configuration.maximumBodyBytes)
        let outcome = try await store.answer(
            comparisonID: id, slot: body.slot, annotatorID: caller.annotator.id, choice: body.choice, now: clock())
        switch outcome {
        case .recorded: return try JSONResponse.make(["status": "recorded"])
        case .duplicate: return try JSONResponse.make(["status": "duplicate"])
        case .forbidden: throw ServiceError.forbidden("slot \(body.slot) of task \(id) is leased to or answered by someone else (or was never handed to you)")
        case .notFound: throw ServiceError.notFound("no task \(id) with a slot \(body.slot)")
        case .conflict: throw ServiceError.conflict("you already answered task \(id) differently")
        }
    }

    /// `GET /api/status`: this annotator's answers and every project's progress.
    func status(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        let caller = try context.caller()
        let status = try await store.status(annotatorID: caller.annotator.id, now: clock())
        return try JSONResponse.make(StatusBody(status, isAdmin: caller.annotator.isAdmin))
    }
}
