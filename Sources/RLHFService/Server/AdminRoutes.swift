import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The administrators' routes: projects, comparisons and their results, the export, the
/// annotators' statistics, and new annotators.
struct AdminRoutes {
    let store: any LabelStore
    let configuration: ServiceConfiguration

    /// `POST /api/projects`: 201 when created, 200 when the same project exists, 409 when a
    /// different one has the name.
    func createProject(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        _ = try context.administrator()
        let body = try await RequestBodyReader.decode(NewProjectBody.self, from: request, limit: configuration.maximumBodyBytes)
        let creation = try await store.createProject(NewProject(
            name: body.name, environment: body.environment, answersPerPair: body.answersPerPair, simulated: body.simulated))
        switch creation {
        case .created(let project): return try JSONResponse.make(ProjectBody(project), status: .created)
        case .existing(let project): return try JSONResponse.make(ProjectBody(project))
        case .conflict: throw ServiceError.conflict("a different project with this name exists")
        }
    }

    /// `POST /api/projects/{project}/comparisons`: the ids in the order sent; idempotent by key.
    func submit(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        _ = try context.administrator()
        let project = try RouteParameter.project(context)
        let body = try await RequestBodyReader.decode(SubmitBody.self, from: request, limit: configuration.maximumSubmitBodyBytes)
        let outcomes = try await store.submit(project: project, comparisons: body.comparisons)
        if let index = outcomes.firstIndex(where: \.isConflict) {
            throw ServiceError.conflict("comparisons[\(index)]: its key is already present with different content (nothing of this request was stored)")
        }
        let ids = outcomes.compactMap(\.id)
        guard ids.count == outcomes.count else {
            throw LabelStoreError.corrupt("a submit outcome without an id")
        }
        return try JSONResponse.make(["ids": ids])
    }

    /// `POST /api/projects/{project}/results` with `{"keys": [...]}`.
    func results(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        _ = try context.administrator()
        let project = try RouteParameter.project(context)
        let body = try await RequestBodyReader.decode(ResultsRequestBody.self, from: request, limit: configuration.maximumBodyBytes)
        let results = try await store.results(project: project, keys: body.keys)
        return try JSONResponse.make(ResultsBody(results: results.map(ResultsBody.Entry.init)))
    }

    /// `GET /api/projects/{project}/export`: JSON Lines, one answer a line.
    func export(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        _ = try context.administrator()
        let project = try RouteParameter.project(context)
        let data = try await LabelExport.jsonLines(project: project, store: store)
        return Response(status: .ok, headers: [.contentType: LabelExport.contentType], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `GET /api/projects/{project}/annotators`: per annotator, answers, median time and agreement.
    func annotatorStats(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        _ = try context.administrator()
        let project = try RouteParameter.project(context)
        let stats = try await store.annotatorStats(project: project)
        return try JSONResponse.make(AnnotatorStatsBody(annotators: stats.map(AnnotatorStatsBody.Entry.init)))
    }

    /// `POST /api/annotators` with `{"name", "admin"}`: 201 with the token, shown this once.
    func addAnnotator(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        _ = try context.administrator()
        let body = try await RequestBodyReader.decode(NewAnnotatorBody.self, from: request, limit: configuration.maximumBodyBytes)
        let (annotator, token) = try await AnnotatorEnrollment.add(name: body.name, isAdmin: body.admin, to: store)
        return try JSONResponse.make(NewAnnotatorResponse(name: annotator.name, admin: annotator.isAdmin, token: token), status: .created)
    }
}
