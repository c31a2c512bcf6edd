import Foundation
public import Logging
import PostgresNIO
public import ProjectorCore
public import ServiceLifecycle
import Synchronization

/// The PostgreSQL event log: the same append and read contract as the embedded one, for teams.
///
/// **Gap-safe tailing.** Concurrent writers take `seq` values from a sequence in one order and
/// commit in another, so "read after the highest seq seen" skips the rows of a transaction
/// that commits late (Marten's and Axon's lost events). Here no reader ever orders by `seq`.
/// Each event records its transaction (`pg_current_xact_id()`), and a *sequencer* gives every
/// committed event a log position, gapless and in the order events became visible, in the
/// `positions` table; readers read positions. A sequencer round runs in one statement (one
/// snapshot) under a transaction-scoped advisory lock: it numbers every visible event that has
/// no position yet, ordered by (transaction id, seq), then records the snapshot's xmin as the
/// low-water mark: every transaction below it has finished, so no event below it can ever
/// appear later, and the next round only looks at events from transactions at or above it. A
/// transaction held open for minutes delays nobody else's events (they are numbered as they
/// commit) and gets its own positions when it commits.
///
/// Appenders run a round right after their commit, so an append returns its positions; tailers
/// run one when woken (LISTEN/NOTIFY: a statement trigger notifies `SCHEMA_events` on every
/// insert, whoever the writer) or on their poll, so events written by other software with plain
/// INSERTs are numbered too.
public final class PostgresEventLog: EventLog, Sendable {
    public struct Configuration: Sendable {
        /// How long a waiter sleeps between polls when no notification arrives.
        public var pollInterval: Duration

        public init(pollInterval: Duration = .milliseconds(500)) {
            self.pollInterval = pollInterval
        }
    }

    public let location: PostgresLocation
    /// The schema holding the log's tables (`?schema=`, default `projector`).
    public let schema: String
    let session: PostgresSession
    private let configuration: Configuration
    private let logger: Logger
    private let created = Mutex<Task<Void, any Error>?>(nil)

    public init(location: PostgresLocation, configuration: Configuration = .init(), logger: Logger = Logger(label: "projector.postgres")) {
        self.location = location
        let schema = location.schema ?? "projector"
        self.schema = schema
        self.configuration = configuration
        self.logger = logger
        session = PostgresSession(location: location, channel: "\(schema)_events", logger: logger)
    }

    public convenience init(url: String, configuration: Configuration = .init()) throws {
        self.init(location: try PostgresLocation(url: url), configuration: configuration)
    }

    /// The log's tables, as shipped in `Schemas/postgres-log.sql` (for schema `projector`),
    /// one statement per element.
    public static func schemaStatements(schema s: String) -> [String] {
        [
            "CREATE SCHEMA IF NOT EXISTS \(s)",
            """
            -- Events in insert order. seq is handed out at insert and commits out of order: never
            -- tail by it. transaction_id is the inserting transaction, for the sequencer.
            CREATE TABLE IF NOT EXISTS \(s).events (
                seq bigserial PRIMARY KEY,
                transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
                id uuid NOT NULL UNIQUE,
                stream text NOT NULL,
                version bigint NOT NULL,
                type text NOT NULL,
                data json NOT NULL,
                metadata json NOT NULL DEFAULT '{}',
                time timestamptz NOT NULL DEFAULT now(),
                tenant text,
                UNIQUE (stream, version)
            )
            """,
            "CREATE INDEX IF NOT EXISTS events_transaction_seq ON \(s).events (transaction_id, seq)",
            """
            -- The log's order: position n is the n-th event to become visible. Gapless; a row
            -- is never changed or removed.
            CREATE TABLE IF NOT EXISTS \(s).positions (
                position bigint PRIMARY KEY,
                seq bigint NOT NULL UNIQUE REFERENCES \(s).events (seq)
            )
            """,
            """
            -- One row: every event of a transaction below low_xid has a position.
            CREATE TABLE IF NOT EXISTS \(s).sequencer (
                one boolean PRIMARY KEY DEFAULT true CHECK (one),
                low_xid xid8 NOT NULL,
                last_position bigint NOT NULL
            )
            """,
            "INSERT INTO \(s).sequencer (low_xid, last_position) VALUES ('0', 0) ON CONFLICT DO NOTHING",
            """
            -- A sequencer round: numbers every visible event without a position, ordered by
            -- (transaction id, seq), then records the snapshot's xmin as the low-water mark (every
            -- transaction below it has finished: no event below it can appear later). Rounds are
            -- serialised by an advisory lock; each statement here takes a new snapshot, so a round
            -- sees the positions of the round before it. Returns the last position.
            CREATE OR REPLACE FUNCTION \(s).sequence() RETURNS bigint LANGUAGE plpgsql AS $$
            DECLARE
                low xid8;
                last bigint;
                horizon xid8;
                added bigint;
            BEGIN
                PERFORM pg_advisory_xact_lock(\(sequencerLock(s).0), \(sequencerLock(s).1));
                SELECT low_xid, last_position INTO low, last FROM \(s).sequencer;
                -- EXECUTE plans with the actual mark, so the planner sees how few events lie above
                -- it; one statement, so what it numbers and the xmin it returns share a snapshot.
                EXECUTE $q$
                    WITH fresh AS (
                        SELECT e.seq, row_number() OVER (ORDER BY e.transaction_id, e.seq) AS n
                        FROM \(s).events e
                        WHERE e.transaction_id >= $1
                          AND NOT EXISTS (SELECT 1 FROM \(s).positions p WHERE p.seq = e.seq)),
                    added AS (
                        INSERT INTO \(s).positions (position, seq)
                        SELECT $2 + fresh.n, fresh.seq FROM fresh
                        RETURNING position)
                    SELECT pg_snapshot_xmin(pg_current_snapshot()), (SELECT count(*) FROM added)
                $q$ INTO horizon, added USING low, last;
                IF added > 0 OR horizon > low THEN
                    UPDATE \(s).sequencer SET low_xid = greatest(low_xid, horizon), last_position = last + added;
                END IF;
                RETURN last + added;
            END $$
            """,
            """
            -- Wakes tailers (LISTEN \(s)_events) when any writer's insert commits.
            CREATE OR REPLACE FUNCTION \(s).notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify(TG_TABLE_SCHEMA || '_events', '');
                RETURN NULL;
            END $$
            """,
            """
            CREATE OR REPLACE TRIGGER events_notify AFTER INSERT ON \(s).events
                FOR EACH STATEMENT EXECUTE FUNCTION \(s).notify_events()
            """,
        ]
    }

    /// `Schemas/postgres-log.sql`: the statements for schema `projector`, for DBAs who create
    /// schemas with their own migration tools (a test keeps the file equal to this).
    public static var schemaFile: String {
        "-- Projector's PostgreSQL event log, created on first use. The schema is `projector` unless\n"
            + "-- the log URL says ?schema=NAME. Generated from PostgresEventLog.schemaStatements.\n\n"
            + schemaStatements(schema: "projector").joined(separator: ";\n\n") + ";\n"
    }

    /// The advisory lock (two-key form, so it never meets applications' one-key locks) that
    /// serialises sequencer rounds and schema creation of a schema.
    static func sequencerLock(_ schema: String) -> (Int32, Int32) { (0x7072_6A73, PostgresLeases.hash(schema)) }
    private var lockKey: (Int32, Int32) { Self.sequencerLock(schema) }

    /// The client, once the schema exists (created on first use, once per process).
    func client() async throws -> PostgresClient {
        let task = created.withLock { task -> Task<Void, any Error> in
            if let task { return task }
            let made = Task { [session, schema, lockKey] in
                try await session.pool().withTransaction(logger: Self.quiet) { connection in
                    try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey.0), \(lockKey.1))", logger: Self.quiet)
                    for statement in Self.schemaStatements(schema: schema) {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Self.quiet)
                    }
                }
            }
            task = made
            return made
        }
        do {
            try await task.value
        } catch {
            created.withLock { if $0 == task { $0 = nil } }
            throw PostgresFailure.error(error, location)
        }
        return try await session.pool()
    }

    static var quiet: Logger { PostgresSession.quiet }

    // MARK: - Appending

    public func append(_ events: [ProposedEvent]) async throws -> [RecordedEvent] {
        let outcomes = try await write(events, keepGood: false)
        return try outcomes.map { outcome in
            switch outcome {
            case .appended(let event), .duplicate(let event): return event
            case .rejected(let error): throw error
            }
        }
    }

    public func appendEach(_ events: [ProposedEvent]) async throws -> [AppendOutcome] {
        try await write(events, keepGood: true)
    }

    /// One transaction: lock the streams (in key order: no deadlocks between appenders), read
    /// their versions and the ids already stored, insert the good events in one statement. Then
    /// a sequencer round gives them positions.
    private func write(_ events: [ProposedEvent], keepGood: Bool) async throws -> [AppendOutcome] {
        guard !events.isEmpty else { return [] }
        let client = try await client()
        let schema = self.schema
        var attempt = 0
        while true {
            attempt += 1
            do {
                let (outcomes, inserted) = try await client.withTransaction(logger: Self.quiet) { connection in
                    try await Self.insert(events, keepGood: keepGood, schema: schema, connection)
                }
                if inserted.isEmpty && !outcomes.contains(where: { if case .duplicate = $0 { true } else { false } }) {
                    return outcomes
                }
                return try await withPositions(outcomes, client)
            } catch let error as ProjectorError {
                throw error
            } catch {
                // Two appenders racing to store the same new id: the loser sees it as stored.
                if PostgresFailure.sqlState(error) == "23505" && attempt < 3 { continue }
                throw PostgresFailure.error(error, location)
            }
        }
    }

    private static func insert(
        _ events: [ProposedEvent], keepGood: Bool, schema: String, _ connection: PostgresConnection
    ) async throws -> ([AppendOutcome], inserted: [UUID]) {
        // Appends to the same stream queue behind each other (their versions are read under
        // the lock); appends to other streams do not wait. A batch touching many streams (an
        // import) takes the whole log instead of a lock per stream: PostgreSQL's lock table is
        // shared and bounded.
        let streams = Array(Set(events.map(\.stream)))
        let log = sequencerLock(schema)
        if streams.count > 32 {
            try await connection.query("SELECT pg_advisory_xact_lock(\(log.1), 0)", logger: quiet)
        } else {
            try await connection.query(
                """
                SELECT pg_advisory_xact_lock_shared(\(log.1), 0), (SELECT count(pg_advisory_xact_lock(k)) FROM (
                    SELECT DISTINCT hashtextextended(s, 7) AS k FROM unnest(\(streams)::text[]) AS s ORDER BY k) AS keys)
                """, logger: quiet)
        }
        // One read for both: the ids already stored, and each stream's version. Versions are
        // keyed by the stream's bytes, as PostgreSQL compares text: Swift's String equality
        // would make "é" and "e\u{301}" one stream here and two in the table.
        var stored: Set<UUID> = []
        var versions: [[UInt8]: Int64] = [:]
        var bindings = PostgresBindings()
        bindings.append(events.compactMap(\.id))
        bindings.append(streams)
        for try await (id, stream, version) in try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT id, NULL, NULL FROM \(schema).events WHERE id = ANY($1::uuid[])
                    UNION ALL
                    SELECT NULL, stream, max(version) FROM \(schema).events WHERE stream = ANY($2::text[]) GROUP BY stream
                    """, binds: bindings),
            logger: quiet
        ).decode((UUID?, String?, Int64?).self) {
            if let id { stored.insert(id) }
            if let stream, let version { versions[Array(stream.utf8)] = version }
        }
        var outcomes: [AppendOutcome] = []
        var rows: [RecordedEvent] = []
        var seen: [UUID: Int] = [:]
        for event in events {
            do {
                try event.checkNames()
            } catch {
                guard keepGood else { throw error }
                outcomes.append(.rejected(error))
                continue
            }
            if let id = event.id, stored.contains(id) {
                // Filled in with the stored event once positions are known.
                outcomes.append(.duplicate(RecordedEvent(position: 0, id: id, stream: "", version: 0, type: "", data: "{}", time: "")))
                continue
            }
            if let id = event.id, let earlier = seen[id] {
                outcomes.append(.duplicate(rows[earlier]))
                continue
            }
            let fields: (data: String, metadata: String, time: String, tenant: String?)
            do {
                fields = try event.storedFields()
            } catch let error as ProjectorError {
                guard keepGood else { throw error }
                outcomes.append(.rejected(error))
                continue
            }
            let key = Array(event.stream.utf8)
            let current = versions[key] ?? 0
            guard event.expectedVersion.accepts(current) else {
                let error = ProjectorError.wrongExpectedVersion(stream: event.stream, expected: event.expectedVersion, actual: current)
                guard keepGood else { throw error }
                outcomes.append(.rejected(error))
                continue
            }
            let recorded = RecordedEvent(
                position: 0, id: event.id ?? UUID(), stream: event.stream, version: current + 1, type: event.type,
                data: fields.data, metadata: fields.metadata, time: fields.time, tenant: fields.tenant)
            versions[key] = recorded.version
            seen[recorded.id] = rows.count
            rows.append(recorded)
            outcomes.append(.appended(recorded))
        }
        if !rows.isEmpty {
            var bindings = PostgresBindings()
            bindings.append(rows.map(\.id))
            bindings.append(rows.map(\.stream))
            bindings.append(rows.map(\.version))
            bindings.append(rows.map(\.type))
            bindings.append(rows.map(\.data))
            bindings.append(rows.map(\.metadata))
            bindings.append(rows.map(\.time))
            bindings.append(rows.map { $0.tenant ?? "" })
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(schema).events (id, stream, version, type, data, metadata, time, tenant)
                        SELECT id, stream, version, type, data::json, metadata::json, time::timestamptz, NULLIF(tenant, '')
                        FROM unnest($1::uuid[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
                            AS e(id, stream, version, type, data, metadata, time, tenant)
                        """, binds: bindings),
                logger: quiet)
        }
        return (outcomes, rows.map(\.id))
    }

    private static func binds<Value: PostgresArrayEncodable>(_ values: [Value]) throws -> PostgresBindings {
        var bindings = PostgresBindings()
        try bindings.append(values)
        return bindings
    }

    /// Runs a sequencer round and fills in the positions (and, for duplicates, the stored events).
    private func withPositions(_ outcomes: [AppendOutcome], _ client: PostgresClient) async throws -> [AppendOutcome] {
        var ids: [UUID] = []
        for outcome in outcomes {
            switch outcome {
            case .appended(let event), .duplicate(let event): ids.append(event.id)
            case .rejected: break
            }
        }
        var found: [UUID: RecordedEvent] = [:]
        // A duplicate of an event whose transaction has not committed yet has no position:
        // wait for it (rare: a retry racing its own first attempt).
        for wait in 0..<1000 {
            _ = try await sequence(client)
            found = try await events(ids: ids, client)
            if found.count == Set(ids).count { break }
            try await Task.sleep(for: .milliseconds(min(100, 1 << min(wait, 7))))
        }
        return outcomes.map { outcome in
            switch outcome {
            case .appended(let event): .appended(found[event.id] ?? event)
            case .duplicate(let event): .duplicate(found[event.id] ?? event)
            case .rejected: outcome
            }
        }
    }

    private func events(ids: [UUID], _ client: PostgresClient) async throws -> [UUID: RecordedEvent] {
        let rows = try await client.query(
            PostgresQuery(unsafeSQL: "\(selectEvents) WHERE e.id = ANY($1::uuid[])", binds: try Self.binds(ids)), logger: Self.quiet)
        var found: [UUID: RecordedEvent] = [:]
        for try await row in rows {
            let event = try Self.event(row)
            found[event.id] = event
        }
        return found
    }

    // MARK: - Sequencing

    /// One sequencer round (the schema's `sequence()` function: one round trip); returns the
    /// last position.
    @discardableResult
    func sequence(_ client: PostgresClient) async throws -> Int64 {
        for try await last in try await client.query(PostgresQuery(unsafeSQL: "SELECT \(schema).sequence()"), logger: Self.quiet)
            .decode(Int64.self)
        {
            return last
        }
        return 0
    }

    // MARK: - Reading

    private var selectEvents: String {
        """
        SELECT p.position, e.id, e.stream, e.version, e.type, e.data::text, e.metadata::text,
            to_char(e.time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), e.tenant
        FROM \(schema).positions p JOIN \(schema).events e ON e.seq = p.seq
        """
    }

    private static func event(_ row: PostgresRow) throws -> RecordedEvent {
        let (position, id, stream, version, type, data, metadata, time, tenant) = try row.decode(
            (Int64, UUID, String, Int64, String, String, String, String, String?).self)
        return RecordedEvent(
            position: position, id: id, stream: stream, version: version, type: type, data: data, metadata: metadata,
            time: time, tenant: tenant)
    }

    private func fetch(_ query: PostgresQuery) async throws -> [RecordedEvent] {
        do {
            let client = try await client()
            var events: [RecordedEvent] = []
            for try await row in try await client.query(query, logger: Self.quiet) { events.append(try Self.event(row)) }
            return events
        } catch {
            throw PostgresFailure.error(error, location)
        }
    }

    public func read(after position: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await fetch("\(unescaped: selectEvents) WHERE p.position > \(position) ORDER BY p.position LIMIT \(limit)")
    }

    public func readStream(_ stream: String, fromVersion version: Int64, limit: Int) async throws -> [RecordedEvent] {
        _ = try await head()
        return try await fetch(
            "\(unescaped: selectEvents) WHERE e.stream = \(stream) AND e.version >= \(version) ORDER BY e.version LIMIT \(limit)")
    }

    /// The last position, after a sequencer round (so events other software inserted count).
    public func head() async throws -> Int64 {
        do {
            return try await sequence(try await client())
        } catch {
            throw PostgresFailure.error(error, location)
        }
    }

    public func hasEvents(ofType type: String) async throws -> Bool {
        do {
            _ = try await client()
            return try await session.value("SELECT EXISTS (SELECT 1 FROM \(unescaped: schema).events WHERE type = \(type))", Bool.self)
                ?? false
        } catch {
            throw PostgresFailure.error(error, location)
        }
    }

    /// Runs the connection pool (and the listener, once waited on) until cancelled: in a
    /// service group beside the host, or around a command with `whileRunning`.
    public func run() async throws { try await session.run() }

    public func waitForEvents(after position: Int64) async throws {
        try await session.waitForEvents(after: position, poll: configuration.pollInterval, head: head)
    }
}

extension PostgresEventLog: Service {}
