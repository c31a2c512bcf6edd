public import GRDB
public import ProjectorCore

/// The demo's Swift projection: balances per account from `Deposited` and `Withdrawn` events
/// (amount in `data.amount`, account = the stream).
///
/// It shows the whole protocol: a name, a fingerprint, the event types it wants, `setUp` and
/// `apply` inside the host's transaction.
public struct BankAccountsProjection: Projection {
    public let name: String
    public var kind: ProjectionKindName { .swift }
    public var fingerprint: String { "bank-accounts-v1" }
    public var eventTypes: Set<String>? { ["Deposited", "Withdrawn"] }

    public init(name: String = "accounts") {
        self.name = name
    }

    public func setUp(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE accounts(
                    account TEXT PRIMARY KEY,
                    balance INTEGER NOT NULL,
                    deposits INTEGER NOT NULL DEFAULT 0,
                    withdrawals INTEGER NOT NULL DEFAULT 0,
                    last_position INTEGER NOT NULL
                )
                """)
    }

    public func apply(_ events: [RecordedEvent], _ db: Database) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO accounts(account, balance, deposits, withdrawals, last_position)
                VALUES (:account, :delta, :deposit, :withdrawal, :position)
                ON CONFLICT(account) DO UPDATE SET
                    balance = balance + excluded.balance,
                    deposits = deposits + excluded.deposits,
                    withdrawals = withdrawals + excluded.withdrawals,
                    last_position = excluded.last_position
                """)
        for event in events {
            guard let amount = Self.amount(event) else {
                throw ProjectorError(
                    .projectionFailed, "event \(event.position) (\(event.type)) has no integer data.amount")
            }
            let deposit = event.type == "Deposited"
            try statement.execute(arguments: [
                "account": event.stream, "delta": deposit ? amount : -amount, "deposit": deposit ? 1 : 0,
                "withdrawal": deposit ? 0 : 1, "position": event.position,
            ])
        }
    }

    static func amount(_ event: RecordedEvent) -> Int64? {
        guard let text = JSONObjectText.rawMember("amount", of: event.data) else { return nil }
        return Int64(text) ?? Double(text).flatMap { $0.rounded() == $0 ? Int64(exactly: $0) : nil }
    }
}
