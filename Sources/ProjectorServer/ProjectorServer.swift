public import Hummingbird
public import Logging
import Metrics
import NIOCore
public import ProjectorHost
public import Prometheus
public import ServiceLifecycle

/// The HTTP face of a running host (Hummingbird 2), per `Schemas/openapi.yaml`: search with
/// read-your-writes, projections and their status, events, rebuild and redrive for admins,
/// health, Prometheus metrics and the web page.
///
/// Run the application in the same `ServiceGroup` as the host: on SIGINT/SIGTERM the server
/// stops accepting, drains the requests in flight, and the host commits its transactions.
public struct ProjectorServer: Sendable {
    public let host: ProjectorHost
    public let settings: ServerSettings
    /// Where /metrics reads from; the serve command bootstraps swift-metrics with it.
    public let registry: PrometheusCollectorRegistry

    public init(host: ProjectorHost, settings: ServerSettings, registry: PrometheusCollectorRegistry) {
        self.host = host
        self.settings = settings
        self.registry = registry
    }

    /// Every route as `METHOD /path` (OpenAPI spelling of parameters); a test keeps
    /// `Schemas/openapi.yaml` and this list equal.
    public static let routes = [
        "GET /", "GET /app.js", "GET /health", "GET /metrics", "GET /v1/indexes", "GET /v1/search/{index}",
        "GET /v1/projections", "GET /v1/projections/{name}", "POST /v1/projections/{name}/rebuild",
        "POST /v1/projections/{name}/redrive", "POST /v1/events", "GET /v1/events", "GET /v1/keys", "POST /v1/keys",
        "DELETE /v1/keys/{id}", "POST /v1/tenants/{tenant}/purge",
    ]

    /// The router with every route; tests drive it directly.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: ErrorMiddleware())
        // A key store that cannot be opened leaves search closed, never open.
        let keys = try? KeyStore(folder: host.storesFolder)
        let routes = Routes(host: host, access: AccessControl(adminToken: settings.adminToken, keys: keys), registry: registry)
        let cache = routes.cache
        host.addWarmer { name, generation in await Routes.warm(name, generation, cache: cache) }
        /// GET, and HEAD answered by the same handler without the body.
        func get(_ path: RouterPath, _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response) {
            router.get(path, use: handler)
            router.head(path) { request, context in
                let response = try await handler(request, context)
                return Response(status: response.status, headers: response.headers, body: .init())
            }
        }
        get("/") { _, _ in routes.page() }
        get("/app.js") { _, _ in routes.script() }
        get("/health") { _, _ in try await routes.health() }
        get("/metrics") { _, _ in try await routes.metrics() }
        get("/v1/indexes") { request, _ in try routes.indexes(request) }
        get("/v1/search/:index") { request, context in try await routes.search(request, context) }
        get("/v1/projections") { request, _ in try await routes.projections(request) }
        get("/v1/projections/:name") { request, context in try await routes.projection(request, context) }
        router.post("/v1/projections/:name/rebuild") { request, context in try await routes.rebuild(request, context) }
        router.post("/v1/projections/:name/redrive") { request, context in try await routes.redrive(request, context) }
        router.post("/v1/events") { request, context in try await routes.append(request, context) }
        get("/v1/events") { request, _ in try await routes.events(request) }
        get("/v1/keys") { request, _ in try await routes.keys(request) }
        router.post("/v1/keys") { request, _ in try await routes.createKey(request) }
        router.delete("/v1/keys/:id") { request, context in try await routes.revokeKey(request, context) }
        router.post("/v1/tenants/:tenant/purge") { request, context in try await routes.purgeTenant(request, context) }
        return router
    }

    /// The application on the configured address; `onListening` gets the port it listens on
    /// (useful with port 0).
    public func application(
        logger: Logger, onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) -> some ApplicationProtocol & Service {
        Application(
            router: router(),
            // A connection with no request in flight is closed after idleTimeout; one whose
            // request does not arrive whole in time by the guard.
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [ConnectionGuard(requestTimeout: .init(settings.requestTimeout))],
                    idleTimeout: .init(settings.idleTimeout))),
            configuration: .init(
                address: .hostname(settings.host, port: settings.port), serverName: "projector"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
    }
}
