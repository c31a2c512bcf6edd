public import Logging
public import ServiceLifecycle
import UnixSignals

extension ProjectorHost {
    /// Runs the host beside `services` (an HTTP server, a folder watcher, …) in one
    /// ServiceGroup until SIGINT or SIGTERM, or until `once` has caught up with the log's head.
    /// On a signal, a transaction in flight gets `gracePeriod` to commit.
    public func runUntilSignalled(
        alongside services: [any Service] = [], only: Set<String>? = nil, once: Bool = false,
        gracePeriod: Duration = .seconds(5), logger: Logger = Logger(label: "projector")
    ) async throws {
        let work = ClosureService {
            if once {
                try await self.catchUp(only: only)
            } else {
                try await self.run(only: only, until: nil)
            }
        }
        // The group ends when any service ends; a failing service other than the host's own
        // work cancels the group, so its error is not lost behind a slow drain.
        var configuration = ServiceGroupConfiguration(
            services: [
                .init(
                    service: work, successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup)
            ] + services.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) },
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = gracePeriod
        try await ServiceGroup(configuration: configuration).run()
    }
}
