import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The type of the labeling service's application (a Hummingbird application over the
/// service's router).
public typealias ServiceApplication = Application<RouterResponder<ServiceRequestContext>>

/// The labeling service's HTTP application over `store` (Docs/LabelingService.md lists its
/// routes). Run it with `runService()`; tests drive it with HummingbirdTesting's
/// `app.test(.router)` or `.live`.
///
/// The store must be migrated already (`store.migrate()`); the application does not close it.
/// `clock` gives "now" for leases, sessions and answer times (tests move it forward).
public func buildApplication(
    store: any LabelStore,
    configuration: ServiceConfiguration = ServiceConfiguration(),
    clock: @escaping @Sendable () -> Date = { Date() },
    logger: Logger? = nil,
    onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
) -> ServiceApplication {
    let router = buildRouter(store: store, configuration: configuration, clock: clock)
    var log = logger ?? Logger(label: "rlhf.serve")
    if logger == nil { log.logLevel = .notice }
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "rlhf"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: log)
}

/// The router of ``buildApplication(store:configuration:clock:logger:onServerRunning:)``.
func buildRouter(
    store: any LabelStore, configuration: ServiceConfiguration, clock: @escaping @Sendable () -> Date
) -> Router<ServiceRequestContext> {
    let router = Router(context: ServiceRequestContext.self, options: [.autoGenerateHeadEndpoints])
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: ErrorMiddleware())

    let pages = PageRoutes(store: store, configuration: configuration, clock: clock)
    let annotators = AnnotatorRoutes(store: store, configuration: configuration, clock: clock)
    let admin = AdminRoutes(store: store, configuration: configuration)
    var table = RouteTable(router: router)

    // The page (no credentials needed to see the sign-in form and the assets).
    table.add(.get, "/", pages.signInPage)
    table.add(.post, "/login", pages.login)
    table.add(.get, "/label", pages.signedInPage("label.html"))
    table.add(.get, "/status", pages.signedInPage("status.html"))
    table.add(.get, "/assets/{file}", pages.assetFile)

    // Everything else needs a token or the session cookie.
    let authenticated = router.group().add(middleware: AuthenticationMiddleware(store: store, clock: clock))
    table.add(.post, "/logout", pages.logout, in: authenticated)
    table.add(.get, "/api/projects", annotators.projects, in: authenticated)
    table.add(.get, "/api/projects/{project}/next", annotators.next, in: authenticated)
    table.add(.post, "/api/tasks/{id}/answer", annotators.answer, in: authenticated)
    table.add(.get, "/api/status", annotators.status, in: authenticated)

    table.add(.post, "/api/projects", admin.createProject, in: authenticated)
    table.add(.post, "/api/projects/{project}/comparisons", admin.submit, in: authenticated)
    table.add(.post, "/api/projects/{project}/results", admin.results, in: authenticated)
    table.add(.get, "/api/projects/{project}/export", admin.export, in: authenticated)
    table.add(.get, "/api/projects/{project}/annotators", admin.annotatorStats, in: authenticated)
    table.add(.post, "/api/annotators", admin.addAnnotator, in: authenticated)

    table.addMethodNotAllowed()
    return router
}

/// Registers routes and remembers their methods, so that the other methods of a known path get
/// a 405 with `Allow` (instead of the router's 404).
struct RouteTable {
    typealias Handler = @Sendable (Request, ServiceRequestContext) async throws -> Response

    let router: Router<ServiceRequestContext>
    private(set) var methods: [(path: String, methods: [HTTPRequest.Method])] = []

    init(router: Router<ServiceRequestContext>) {
        self.router = router
    }

    mutating func add(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler,
                      in group: RouterGroup<ServiceRequestContext>? = nil) {
        if let group {
            group.on(RouterPath(stringLiteral: path), method: method, use: handler)
        } else {
            router.on(RouterPath(stringLiteral: path), method: method, use: handler)
        }
        if let i = methods.firstIndex(where: { $0.path == path }) {
            methods[i].methods.append(method)
        } else {
            methods.append((path, [method]))
        }
    }

    func addMethodNotAllowed() {
        let all: [HTTPRequest.Method] = [.get, .post, .put, .delete, .patch, .options]
        for (path, allowed) in methods {
            var allow = allowed
            if allowed.contains(.get) { allow.append(.head) }
            let header = allow.map(\.rawValue).joined(separator: ", ")
            for method in all where !allowed.contains(method) {
                router.on(RouterPath(stringLiteral: path), method: method) { _, _ -> Response in
                    throw ServiceError(.methodNotAllowed, "method not allowed (this route takes \(header))", headers: [.allow: header])
                }
            }
        }
    }
}
