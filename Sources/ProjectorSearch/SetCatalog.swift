import GRDB
import GRDBSQLite
import Synchronization

/// What the set writer remembers between transactions, per store file: every key it has met,
/// so a token's keys are built and hashed once rather than once per transaction; which keys
/// have sets; and, for those that do not yet, in how many documents they were seen. A word or
/// prefix seen in ``threshold`` documents gets its set (built from FTS5, then kept in step).
///
/// The store is the truth: each transaction first compares the newest key id in the store with
/// the one remembered and reloads on a difference (a rolled-back transaction that made a set).
/// The counts are only a heuristic and live in memory; after a restart they start over, which
/// delays a set, never loses one.
final class SetCatalog: Sendable {
    /// Below this many documents FTS5 lists a word's rowids in well under a millisecond, and
    /// every set kept costs a chunk write in each transaction that touches it.
    static let threshold = 512
    /// Keys remembered at most (about 100 bytes each with their token); past it the memory
    /// starts over, the keys with sets are read back from the store and the counts restart.
    static let capacity = 400_000

    private let tables = Mutex<[String: KeyTable]>([:])

    /// The store's table, checked out for one transaction (the store's single writer uses it).
    func checkOut(_ db: Database) throws -> KeyTable {
        let path = Self.path(db)
        var table = tables.withLock { $0.removeValue(forKey: path) } ?? KeyTable()
        if table.keys.count > Self.capacity { table = KeyTable() }
        try table.synchronize(db)
        return table
    }

    func checkIn(_ table: consuming KeyTable, _ db: Database) {
        let path = Self.path(db)
        tables.withLock { $0[path] = table }
    }

    static func path(_ db: Database) -> String {
        sqlite3_db_filename(db.sqliteConnection, "main").map { String(cString: $0) } ?? ""
    }
}

/// The keys of one store's sets, by number, and the work of the transaction in progress. A
/// value type worked on in place through `mutating` methods: its arrays are touched a few
/// hundred times per document, and a class's stored properties would pay a dynamic
/// exclusivity check on each access.
struct KeyTable: Sendable {
    var keys: [String] = []
    var index: [String: Int] = [:]
    /// Per token: its word key and its 2- and 3-letter prefix keys (-1: none).
    var tokens: [String: (word: Int, two: Int, three: Int)] = [:]
    var tracked: [Bool] = []
    /// Whether the key is in the store's key list (filter values and the set of all documents
    /// are tracked from the start and listed at their first write).
    var listed: [Bool] = []
    var counts: [Int] = []
    var lastDocument: [Int] = []
    var operations: [[Int64]] = []
    /// Tracked keys with operations in this transaction.
    var dirty: [Int] = []
    /// Untracked keys seen in ``SetCatalog/threshold`` documents (repeats allowed).
    var candidates: [Int] = []
    var document = 0
    /// The newest key id of the store this table agrees with.
    var version: Int64 = -1

    /// Forgets an abandoned transaction's work and reloads which keys have sets if the store's
    /// list moved without us.
    mutating func synchronize(_ db: Database) throws {
        for key in dirty { operations[key].removeAll() }
        dirty.removeAll()
        candidates.removeAll()
        let stored = try DocumentSets.newestKeyID(db)
        guard stored != version else { return }
        for key in keys.indices {
            listed[key] = false
            tracked[key] = Self.alwaysTracked(keys[key])
        }
        for key in try String.fetchAll(db, sql: "SELECT key FROM \(DocumentSets.keys)") {
            let number = index(of: key)
            tracked[number] = true
            listed[number] = true
        }
        version = stored
    }

    mutating func index(of key: String) -> Int {
        if let number = index[key] { return number }
        keys.append(key)
        tracked.append(Self.alwaysTracked(key))
        listed.append(false)
        counts.append(0)
        lastDocument.append(0)
        operations.append([])
        index[key] = keys.count - 1
        return keys.count - 1
    }

    mutating func entry(for token: String) -> (word: Int, two: Int, three: Int) {
        if let entry = tokens[token] { return entry }
        let scalars = token.unicodeScalars
        let prefix = { (length: Int) in String(String.UnicodeScalarView(scalars.prefix(length))) }
        let length = scalars.count
        let entry = (
            word: index(of: DocumentSets.wordKey(token)),
            two: length >= 2 ? index(of: DocumentSets.prefixKey(prefix(2))) : -1,
            three: length >= 3 ? index(of: DocumentSets.prefixKey(prefix(3))) : -1
        )
        tokens[token] = entry
        return entry
    }

    /// One document's rowid joins (or leaves) the sets of `keys` (distinct key numbers).
    mutating func record(_ rowid: Int64, keys touched: [Int], adding: Bool) {
        for key in touched {
            if tracked[key] {
                if operations[key].isEmpty { dirty.append(key) }
                operations[key].append(adding ? rowid : -rowid)
            } else if adding {
                counts[key] += 1
                if counts[key] >= SetCatalog.threshold { candidates.append(key) }
            }
        }
    }

    /// The distinct keys of a document: the set of all documents, its tokens' words and
    /// prefixes (when `wholeDocument`), its filter values.
    mutating func touchedKeys(
        tokens: [String], filters: [(name: String, value: String)], wholeDocument: Bool, into touched: inout [Int]
    ) {
        document += 1
        touched.removeAll(keepingCapacity: true)
        let document = self.document
        func touch(_ key: Int, _ table: inout KeyTable) {
            guard table.lastDocument[key] != document else { return }
            table.lastDocument[key] = document
            touched.append(key)
        }
        if wholeDocument {
            touch(index(of: DocumentSets.allKey), &self)
            for token in tokens {
                let entry = entry(for: token)
                touch(entry.word, &self)
                if entry.two >= 0 { touch(entry.two, &self) }
                if entry.three >= 0 { touch(entry.three, &self) }
            }
        }
        for (name, value) in filters { touch(index(of: DocumentSets.filterKey(name, value)), &self) }
    }

    static func alwaysTracked(_ key: String) -> Bool { key.hasPrefix("a:") || key.hasPrefix("f:") }
}
