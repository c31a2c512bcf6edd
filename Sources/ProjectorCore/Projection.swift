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
    /// `swift`, `search`, `sql`: shown in status.
    var kind: String { get }
    /// Changes whenever the definition changes in a way that needs a rebuild.
    var fingerprint: String { get }
    /// The event types this projection wants; nil means all. Others are skipped without a call.
    var eventTypes: Set<String>? { get }

    /// Creates the projection's tables in an empty store.
    func setUp(_ store: Store) throws
    /// Applies a batch (already filtered to ``eventTypes``), inside the host's transaction.
    func apply(_ events: [RecordedEvent], _ store: Store) throws
}

extension Projection {
    public var kind: String { "swift" }
    public var eventTypes: Set<String>? { nil }
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
