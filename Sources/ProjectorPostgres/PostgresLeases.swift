public import Logging
import PostgresNIO
public import ProjectorCore

/// Projection leases held as PostgreSQL session advisory locks, for hosts sharing their stores.
///
/// A host holds the lock of every projection it runs on one connection of its own. The server
/// releases a session's locks the moment the session ends, so when a host dies (even by
/// SIGKILL: the kernel closes its socket) another host, trying once a second, takes over within
/// about a second. A host that cannot reach the server for a heartbeat assumes it lost its
/// leases and stops those projections; the checkpoint check in every commit keeps a host that
/// had not noticed yet from applying what the new holder applied.
public actor PostgresLeases: ProjectionLeases {
    public let location: PostgresLocation
    /// Leases of one log: projection names are unique per log, not per server.
    public let scope: String
    private let logger: Logger
    private var connection: PostgresConnection?
    /// The connection being opened: callers arriving meanwhile (the actor is reentrant at
    /// every await) wait for the same one instead of opening, and leaking, their own.
    private var connecting: Task<PostgresConnection, any Error>?
    /// Bumped whenever the connection is replaced: locks taken on an older one are gone.
    private var generation = 0
    private var nextID = 0

    public init(location: PostgresLocation, scope: String, logger: Logger = Logger(label: "projector.leases")) {
        self.location = location
        self.scope = scope
        self.logger = logger
    }

    /// 32-bit FNV-1a: the same key for the same name in every process (Swift's `hashValue`
    /// is seeded per process).
    static func hash(_ text: String) -> Int32 {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return Int32(bitPattern: hash)
    }

    private static let namespace: Int32 = 0x7072_6A6C  // "prjl"

    private func key(_ name: String) -> Int32 { Self.hash(scope + "/" + name) }

    public nonisolated func whileHolding(_ name: String, _ body: @escaping @Sendable () async -> Void) async {
        await enter()
        await hold(name, body)
        await leave()
    }

    private var holders = 0

    private func enter() { holders += 1 }

    /// The last holder gone (the host stopped): close the connection, which frees every lock.
    private func leave() async {
        holders -= 1
        guard holders == 0, let connection else { return }
        self.connection = nil
        generation += 1
        try? await connection.close()
    }

    private nonisolated func hold(_ name: String, _ body: @escaping @Sendable () async -> Void) async {
        while !Task.isCancelled {
            guard let held = await tryAcquire(name) else {
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            logger.info("holding projection \(name)")
            let finished = await withTaskGroup(of: Bool.self) { group -> Bool in
                group.addTask {
                    await body()
                    return true
                }
                group.addTask {
                    // Heartbeat: a lost connection means lost locks.
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        if Task.isCancelled { break }
                        if await !self.stillHeld(held) { return false }
                    }
                    return true
                }
                let first = await group.next() ?? true
                group.cancelAll()
                await group.waitForAll()
                return first
            }
            if finished {
                await release(name, held)
                return
            }
            logger.warning("lost the lease on projection \(name); waiting to hold it again")
        }
    }

    /// The connection generation the lock was taken on, or nil when another host holds it.
    private func tryAcquire(_ name: String) async -> Int? {
        do {
            let connection = try await connected()
            let rows = try await connection.query(
                "SELECT pg_try_advisory_lock(\(Self.namespace), \(key(name)))", logger: logger)
            for try await locked in rows.decode(Bool.self) where locked { return generation }
            return nil
        } catch {
            drop()
            logger.warning("cannot reach PostgreSQL for leases: \(PostgresFailure.describe(error))")
            return nil
        }
    }

    private func stillHeld(_ held: Int) async -> Bool {
        guard held == generation, let connection, !connection.isClosed else { return false }
        do {
            try await connection.query("SELECT 1", logger: logger)
            return held == generation
        } catch {
            drop()
            return false
        }
    }

    private func release(_ name: String, _ held: Int) async {
        guard held == generation, let connection else { return }
        _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.namespace), \(key(name)))", logger: logger)
    }

    private func connected() async throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        if let connecting { return try await connecting.value }
        drop()
        nextID += 1
        let (location, id, logger) = (self.location, nextID, self.logger)
        let task = Task { try await PostgresConnection.connect(configuration: location.connectionConfiguration(), id: id, logger: logger) }
        connecting = task
        defer { connecting = nil }
        let made = try await task.value
        connection = made
        return made
    }

    private func drop() {
        if let connection { Task { try? await connection.close() } }
        connection = nil
        generation += 1
    }
}
