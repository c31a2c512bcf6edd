import ArgumentParser
import Foundation
import Logging
import Metrics
import ProjectorCore
import ProjectorDemo
import ProjectorHost
import ProjectorServer
import ProjectorSpecs
import Prometheus
import ServiceLifecycle
import UnixSignals

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the projections: catch up with the log, then keep following it.",
        discussion: "SIGINT or SIGTERM finishes the transaction in flight and exits 0.")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Catch up to the current head and exit.") var once = false
    @Option(name: .customLong("only"), help: "Run only this projection (repeatable).") var only: [String] = []

    func run() async throws {
        let configuration = try global.configuration()
        let log = try global.log(configuration)
        try await log.whileRunning {
            let host = try global.host(configuration, log: log)
            let selection = only.isEmpty ? nil : Set(only)
            try await HostRunner.run(host: host, configuration: configuration, only: selection, once: once)
            if once {
                try await StatusCommand.printTable(try await host.status().filter { selection?.contains($0.name) ?? true })
            }
        }
    }
}

/// Runs the host until a signal; running every projection live, it also re-reads the
/// projections folder when it changes and on SIGHUP.
enum HostRunner {
    static func run(
        host: ProjectorHost, configuration: ProjectorConfiguration, only: Set<String>?, once: Bool,
        extra: [any Service] = []
    ) async throws {
        let logger = Logger(label: "projector")
        var services = extra
        if !once && only == nil {
            let watcher = ProjectionFolderWatcher(
                host: host, configuration: configuration, kinds: GlobalOptions.kinds, builtIn: GlobalOptions.builtIn, logger: logger)
            let hangups = ClosureService {
                for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
                    logger.notice("SIGHUP: re-reading \(configuration.projections)")
                    await watcher.reload()
                }
            }
            services += [watcher, hangups]
        }
        ShutdownWatchdog.arm(after: .seconds(10))
        try await host.runUntilSignalled(alongside: services, only: only, once: once, logger: logger)
    }
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "The main job: every projection live, plus the HTTP API and web page.",
        discussion: """
            Runs every projection (catching up, then following the log) and serves HTTP on \
            server.host:server.port (default 127.0.0.1:8080): search with read-your-writes, \
            projections, events, health, Prometheus metrics, and the web page at /. Admin routes \
            need `Authorization: Bearer $PROJECTOR_ADMIN_TOKEN` and are closed without it. \
            SIGINT/SIGTERM drain the requests in flight and commit the projections.
            With --demo, first imports the bundled sample events (real Debian package, changelog \
            and documentation events, and a small course platform) and adds the example specs \
            (a search index and three SQL reports) to the projections folder, so there is \
            something to search and query: open http://127.0.0.1:8080/, or \
            `projector search packages vim`.
            """)

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Import the bundled sample events first (idempotent).") var demo = false
    @Option(help: "Listen on this port instead of server.port (0: any free port).") var port: Int?
    @Option(help: "Listen on this address instead of server.host.") var host: String?

    func run() async throws {
        var configuration = try global.configuration()
        if let port {
            guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535") }
            configuration.serverPort = port
        }
        if let host { configuration.serverHost = host }
        let log = try global.log(configuration)
        try await log.whileRunning {
            if demo {
                for file in try SampleData.installExamples(into: configuration.projections) {
                    Terminal.note("demo: wrote the example spec \(file)")
                }
                try await SampleImport.run(into: log)
            }
            let projectorHost = try global.host(configuration, log: log)
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            let settings = ServerSettings(
                host: configuration.serverHost, port: configuration.serverPort, idleTimeout: configuration.serverIdleTimeout,
                requestTimeout: configuration.serverRequestTimeout, adminToken: configuration.adminToken)
            let server = ProjectorServer(host: projectorHost, settings: settings, registry: registry)
            var logger = Logger(label: "projector")
            logger.logLevel = .warning
            let runners = projectorHost.runners.count
            let address = configuration.serverHost
            let logText = configuration.log.description
            let closed = configuration.adminToken == nil ? " (admin routes closed: no PROJECTOR_ADMIN_TOKEN)" : ""
            let application = server.application(logger: logger) { port in
                Terminal.note(
                    "projector: \(runners) projection\(runners == 1 ? "" : "s"), log \(logText); listening on http://\(address):\(port)/\(closed)"
                )
            }
            try await HostRunner.run(host: projectorHost, configuration: configuration, only: nil, once: false, extra: [application])
        }
    }
}

/// Imports the sample bundled with the binary.
enum SampleImport {
    static func run(into log: any EventLog) async throws {
        let urls = SampleData.allURLs
        guard !urls.isEmpty else {
            throw ProjectorError(.notFound, "the bundled sample events are missing from this build")
        }
        for url in urls {
            let handle = try FileHandle(forReadingFrom: url)
            let result = try await EventImporter(log: log).importLines(from: handle)
            Terminal.note("sample \(url.lastPathComponent): \(result.appended) events imported, \(result.duplicates) already in the log")
        }
    }
}
