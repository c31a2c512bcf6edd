public import Crypto
public import Foundation
import GRDB
import ProjectorCore
import Synchronization

/// The host's API keys, in `keys.db` beside the projection stores: each key's id, name, rights
/// and the SHA-256 of its secret, never the secret itself.
///
/// A secret is `prj_ID_MAC`, MAC being HMAC-SHA256 of the id under the host's master secret
/// (`PROJECTOR_MASTER_KEY`, or `master.key` beside the stores, made with the first key), so the
/// host can recompute a key's secret to check the tenant tokens it signs. Records are cached for
/// at most ``cacheLife``, so a key revoked by another process is refused within it.
public final class KeyStore: Sendable {
    static let cacheLife: Duration = .seconds(1)

    public static let file = "keys.db"
    public static let masterFile = "master.key"
    static let prefix = "prj_"

    let database: DatabasePool
    let folder: String
    let masterFromEnvironment: SymmetricKey?
    private let masterFromFile = Mutex<SymmetricKey?>(nil)
    private let records = Mutex<[String: (key: APIKey, digest: String, read: ContinuousClock.Instant)]>([:])
    /// Set once a key exists: keys are never deleted, only revoked.
    private let made = Atomic(false)

    /// Opens (creating when needed) the key store of the stores folder.
    public init(folder: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        self.folder = folder
        masterFromEnvironment = environment["PROJECTOR_MASTER_KEY"].flatMap {
            $0.isEmpty ? nil : SymmetricKey(data: SHA256.hash(data: Data($0.utf8)))
        }
        database = try DatabasePool(path: "\(folder)/\(Self.file)")
        try database.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS api_keys(
                        id TEXT PRIMARY KEY, name TEXT NOT NULL, secret_sha256 TEXT NOT NULL, actions TEXT NOT NULL,
                        indexes TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT)
                    """)
        }
    }

    /// Makes a key; its secret is returned this once.
    public func create(name: String, actions: [APIKey.Action], indexes: [String]) throws -> (key: APIKey, secret: String) {
        guard !actions.isEmpty else { throw ProjectorError(.invalidConfiguration, "a key needs at least one action") }
        guard !indexes.isEmpty, indexes.allSatisfy({ !$0.isEmpty }) else {
            throw ProjectorError(.invalidConfiguration, "a key needs at least one index name or pattern (* for all)")
        }
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        let id = String((0..<12).map { _ in alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))] })
        let secret = try secret(for: id, creatingMaster: true)
        let key = APIKey(id: id, name: name, actions: actions, indexes: indexes, createdAt: EventTime.now(), revokedAt: nil)
        try database.write { db in
            try db.execute(
                sql: "INSERT INTO api_keys(id, name, secret_sha256, actions, indexes, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [
                    id, name, Self.digest(secret), actions.map(\.rawValue).joined(separator: ","), Self.encode(indexes), key.createdAt,
                ])
        }
        made.store(true, ordering: .relaxed)
        return (key, secret)
    }

    public func list() throws -> [APIKey] {
        try database.read { db in try Row.fetchAll(db, sql: "SELECT * FROM api_keys ORDER BY created_at, id").map(Self.key) }
    }

    /// Revokes a key: from now on it and every token it signed are refused.
    @discardableResult
    public func revoke(_ id: String) throws -> APIKey {
        defer { records.withLock { _ = $0.removeValue(forKey: id) } }
        return try database.write { db in
            try db.execute(
                sql: "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [EventTime.now(), id])
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE id = ?", arguments: [id]) else {
                throw ProjectorError(.notFound, "no key with id '\(id)'")
            }
            return Self.key(row)
        }
    }

    /// Whether any key was ever made: from then on search needs a credential (revoking every
    /// key does not reopen it).
    public func hasKeys() throws -> Bool {
        if made.load(ordering: .relaxed) { return true }
        let found = try database.read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM api_keys)") ?? false }
        if found { made.store(true, ordering: .relaxed) }
        return found
    }

    /// The key a secret belongs to and whether the secret is its own (compared in constant
    /// time, as digests); nil when no key has the secret's id.
    func lookUp(secret: String) throws -> (key: APIKey, matches: Bool)? {
        guard let id = APIKey.id(ofSecret: secret), let (key, digest) = try record(id) else { return nil }
        return (key, Self.constantTimeEqual(Self.digest(secret), digest))
    }

    /// A key and its secret recomputed from the master secret (to verify tokens it signed).
    func keyWithSecret(_ id: String) throws -> (key: APIKey, secret: String)? {
        guard let (key, digest) = try record(id) else { return nil }
        let secret = try secret(for: id, creatingMaster: false)
        // A master secret other than the one the key was made with: its tokens cannot verify.
        guard Self.constantTimeEqual(Self.digest(secret), digest) else {
            throw ProjectorError(.unavailable, "the master secret changed since key \(id) was made: its tokens cannot be verified")
        }
        return (key, secret)
    }

    private func record(_ id: String) throws -> (APIKey, String)? {
        let now = ContinuousClock.now
        if let cached = records.withLock({ $0[id] }), now - cached.read < Self.cacheLife { return (cached.key, cached.digest) }
        let found = try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE id = ?", arguments: [id]).map {
                (Self.key($0), $0["secret_sha256"] as String)
            }
        }
        records.withLock { records in
            if records.count > 10_000 { records.removeAll() }
            if let found { records[id] = (found.0, found.1, now) } else { records[id] = nil }
        }
        return found
    }

    private func secret(for id: String, creatingMaster: Bool) throws -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(id.utf8), using: try master(creating: creatingMaster))
        return Self.prefix + id + "_" + Data(mac).base64URLEncoded
    }

    /// The master secret: from the environment, or the file beside the stores (0600).
    private func master(creating: Bool) throws -> SymmetricKey {
        if let masterFromEnvironment { return masterFromEnvironment }
        if let known = masterFromFile.withLock({ $0 }) { return known }
        let path = "\(folder)/\(Self.masterFile)"
        if let data = FileManager.default.contents(atPath: path), data.count == 32 {
            let key = SymmetricKey(data: data)
            masterFromFile.withLock { $0 = key }
            return key
        }
        guard creating else {
            throw ProjectorError(.unavailable, "\(path) is missing: keys cannot be verified (set PROJECTOR_MASTER_KEY or restore the file)")
        }
        let key = SymmetricKey(size: .bits256)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        if descriptor < 0 {
            // Another process made it first: use theirs.
            if errno == EEXIST, let data = FileManager.default.contents(atPath: path), data.count == 32 { return SymmetricKey(data: data) }
            throw ProjectorError(.unavailable, "\(path): cannot create the master secret: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let written = key.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == 32 else { throw ProjectorError(.unavailable, "\(path): cannot write the master secret") }
        masterFromFile.withLock { $0 = key }
        return key
    }

    static func digest(_ secret: String) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        for byte in SHA256.hash(data: Data(secret.utf8)) { hex += [digits[Int(byte >> 4)], digits[Int(byte & 15)]] }
        return String(decoding: hex, as: UTF8.self)
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for index in 0..<max(x.count, y.count) {
            difference |= (index < x.count ? x[index] : 0) ^ (index < y.count ? y[index] : 0)
        }
        return difference == 0
    }

    static func encode(_ list: [String]) -> String {
        "[" + list.map(JSONString.quote).joined(separator: ",") + "]"
    }

    static func key(_ row: Row) -> APIKey {
        let indexes = (try? JSONSerialization.jsonObject(with: Data((row["indexes"] as String).utf8))) as? [String] ?? []
        return APIKey(
            id: row["id"], name: row["name"],
            actions: (row["actions"] as String).split(separator: ",").compactMap { APIKey.Action(rawValue: String($0)) },
            indexes: indexes, createdAt: row["created_at"], revokedAt: row["revoked_at"])
    }
}
