import Dispatch
import Foundation
public import GRDB
public import Logging
public import ProjectorCore
public import ProjectorHost
public import ServiceLifecycle
import Synchronization

/// Re-reads the projections folder while the host runs: every `interval` when a spec file was
/// added, changed or removed, and at once on ``reload()`` (the CLI calls it on SIGHUP).
///
/// Polling a folder listing once a second is cheap and works the same on every platform and
/// file system (inotify does not see network mounts).
public final class ProjectionFolderWatcher: Service, Sendable {
    public let host: ProjectorHost
    public let configuration: ProjectorConfiguration
    public let kinds: ProjectionKinds
    /// The application's Swift projections, kept beside the specs on every reload.
    public let builtIn: [any Projection<Database>]
    public let interval: Duration
    private let logger: Logger
    private let last = Mutex<(signature: [String], problems: Set<String>)>(([], []))

    public init(
        host: ProjectorHost, configuration: ProjectorConfiguration, kinds: ProjectionKinds = .standard,
        builtIn: [any Projection<Database>] = [], interval: Duration = .seconds(1), logger: Logger = Logger(label: "projector")
    ) {
        self.host = host
        self.configuration = configuration
        self.kinds = kinds
        self.builtIn = builtIn
        self.interval = interval
        self.logger = logger
        // What the host was started with: only what differs from it is news.
        let signature = Self.signature(of: configuration.projections)
        let problems = Set(ProjectionCatalog.load(configuration, kinds: kinds, builtIn: builtIn).problems)
        last.withLock { $0 = (signature, problems) }
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            } catch {
                return
            }
            let signature = Self.signature(of: configuration.projections)
            if last.withLock({ $0.signature != signature }) { await reload() }
        }
    }

    /// Reads the folder now and applies it to the host; logs what changed and every new problem.
    /// Specs are checked off the cooperative pool (their SQL runs within its budget, but a
    /// second of it must not hold one of the threads the server answers on).
    @discardableResult
    public func reload() async -> ProjectorHost.Changes {
        let signature = Self.signature(of: configuration.projections)
        let (configuration, kinds, builtIn) = (self.configuration, self.kinds, self.builtIn)
        let catalog = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: ProjectionCatalog.load(configuration, kinds: kinds, builtIn: builtIn))
            }
        }
        let fresh = last.withLock { state -> [String] in
            let fresh = catalog.problems.filter { !state.problems.contains($0) }
            state = (signature, Set(catalog.problems))
            return fresh
        }
        for problem in fresh { logger.error("\(problem)") }
        do {
            let changes = try host.update(catalog.projections)
            for name in changes.added { logger.notice("projection \(name) added: building it from position 0") }
            for name in changes.changed {
                let kind = catalog.projections.first { $0.name == name }.flatMap { kinds.kind(named: $0.kind) }
                if kind?.rebuildsWhenChanged == true, (try? host.requestRebuild(name)) != nil {
                    logger.notice("projection \(name) changed: building its next generation beside the live one")
                } else {
                    logger.notice("projection \(name) changed: it runs again once rebuilt")
                }
            }
            for name in changes.removed { logger.notice("projection \(name) removed: stopped, its store is kept") }
            return changes
        } catch {
            logger.error("projections folder not applied: \(error)")
            return .init()
        }
    }

    /// Names, sizes and modification times of the folder's files (specs and the modules they name).
    static func signature(of folder: String) -> [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        return names.map { (folder as NSString).appendingPathComponent($0) }.map { file in
            let attributes = (try? FileManager.default.attributesOfItem(atPath: file)) ?? [:]
            let size = (attributes[.size] as? NSNumber)?.int64Value ?? -1
            let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return "\(file)|\(size)|\(modified)"
        }
    }
}
