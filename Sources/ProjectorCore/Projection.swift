/// A read model fed by the log: the one small protocol every projection conforms to.
///
/// The host owns the transaction. It calls ``setUp(_:)`` once per store generation and
/// ``apply(_:_:)`` with each batch, and commits the projection's writes and its checkpoint
/// together, so after a crash the projection resumes exactly where its data stands. `Store` is
/// the handle the store engine passes in (GRDB's `Database` for SQLite stores); it is only valid
/// inside the call, never keep it.
///
/// ```swift
/// struct Balances: Projection {
///     let name = "balances"
///     let fingerprint = "balances-v1"
///     var eventTypes: Set<String>? { ["Deposited", "Withdrawn"] }
///     func setUp(_ db: Database) throws { try db.execute(sql: "CREATE TABLE ...") }
///     func apply(_ events: [RecordedEvent], _ db: Database) throws { ... }
/// }
/// ```
public protocol Projection<Store>: Sendable {
    associatedtype Store

    /// Unique, `[a-z0-9_-]+`; also the store's file name.
    var name: String { get }
    /// `swift`, `search`, `sql`, …: shown in status.
    var kind: ProjectionKindName { get }
    /// Changes whenever the definition changes in a way that needs a rebuild.
    var fingerprint: String { get }
    /// The event types this projection wants; nil means all. Others are skipped without a call.
    var eventTypes: Set<String>? { get }

    /// Creates the projection's tables in an empty store.
    func setUp(_ store: Store) throws
    /// Applies a batch (already filtered to ``eventTypes``), inside the host's transaction.
    func apply(_ events: [RecordedEvent], _ store: Store) throws

    /// What to do with an event that keeps failing (default: 3 tries, then dead-letter and skip).
    var errorPolicy: ErrorPolicy { get }

    /// Checks a freshly rebuilt store before it replaces the live one; throw to refuse the swap.
    /// The host already checks every FTS5 index and counts every table.
    func verify(_ store: Store) throws

    /// The definition as text, kept in the store so a generation can still be read after the
    /// definition changed (a search index needs its spec to be queried). Nil for Swift types.
    var definition: String? { get }
}

extension Projection {
    public var kind: ProjectionKindName { .swift }
    public var eventTypes: Set<String>? { nil }
    public var errorPolicy: ErrorPolicy { ErrorPolicy() }
    public func verify(_ store: Store) throws {}
    public var definition: String? { nil }
}

/// How a projection treats an event whose application keeps failing (a poison event).
///
/// The host retries the transaction, then halves it until the failing event stands alone, which
/// gets `tries` tries with backoff; an event that still fails goes to the projection's
/// dead-letter table with its error, and the projection either skips it and goes on, or stops
/// there. Other projections never stop.
/// `projector redrive NAME` re-applies dead letters once the cause is fixed.
public struct ErrorPolicy: Sendable, Hashable {
    public enum Then: String, Sendable, Hashable, CaseIterable, Decodable {
        /// Dead-letter the event and go on with the next one.
        case skip
        /// Dead-letter the event and stop the projection there (state failed) until a redrive.
        case stop
    }

    /// Attempts per event before it is dead-lettered, at least 1.
    public var tries: Int
    public var then: Then

    public init(tries: Int = 3, then: Then = .skip) {
        self.tries = max(1, tries)
        self.then = then
    }
}

/// Projection names become file names and SQL identifiers: keep them boring.
public enum ProjectionName {
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            }
    }
}

extension ErrorPolicy: Decodable {
    /// Reads a spec file's `onError: { tries: 3, then: skip }`; problems are noted with their field.
    public init(from decoder: any Decoder) {
        let fields = SpecFields(decoder, known: ["tries", "then"], expected: "a mapping with tries and then")
        let tries = fields.optional("tries", Int.self, "must be a whole number from 1 to 100", where: { (1...100).contains($0) })
        let then = fields.optional("then", Then.self, "must be skip or stop")
        self.init(tries: tries ?? 3, then: then ?? .skip)
    }
}

/// Who runs which projection when several hosts share their stores: each projection is run by
/// exactly one host at a time, and another takes over when that host dies.
public protocol ProjectionLeases: Sendable {
    /// Waits until this host holds the lease on `name`, then runs `body` and releases the lease
    /// when it returns. When the lease is lost (the host's connection to the coordinator died),
    /// `body` is cancelled (a projection finishes the transaction in flight; its checkpoint
    /// check stops anything a new holder has already applied) and the lease is waited for again.
    func whileHolding(_ name: String, _ body: @escaping @Sendable () async -> Void) async
}
