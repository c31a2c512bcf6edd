import GRDB
import GRDBSQLite
import Synchronization

/// What the set writer remembers between transactions, per store file: every key it has met,
/// so a token's keys are built and hashed once rather than once per transaction; which keys
/// have sets; and, for those that do not yet, in how many documents they were seen. A word or
/// prefix seen in ``threshold`` documents and in 1 of ``share`` of all documents gets its set
/// (built from FTS5, then kept in step).
/// So does a pair of adjacent words, counted only where both words are frequent (see
/// ``KeyTable/isFrequent(_:)``): a phrase of two common words costs FTS5 a walk over both
/// words' positions (150 ms for a pair in 199k of 1M documents); its set is one lookup, and is
/// built mostly from the documents it was seen in while counted (``PairRows``).
///
/// The store is the truth: a table is handed back only when its transaction commits (after an
/// error the next transaction starts from the store), and each transaction first compares the
/// newest key id in the store with the one remembered and reloads on a difference (another
/// connection made a set).
/// The counts are only a heuristic and live in memory; after a restart they start over, which
/// delays a set, never loses one.
final class SetCatalog: Sendable {
    /// Below this many documents FTS5 lists a word's rowids in well under a millisecond, and
    /// every set kept costs a chunk write in each transaction that touches it.
    static let threshold = 512
    /// A word's set is rewritten by nearly every transaction (its newest chunk), so the number
    /// of sets, not their size, is what indexing pays for: at 1M documents a word needs about
    /// 2,000 to get one (10,000 words had 512), and FTS5 lists 2,000 rowids in under a
    /// millisecond.
    static let share = 512
    /// Keys remembered at most (about 100 bytes each with their token); past it the memory
    /// starts over, the keys with sets are read back from the store and the counts restart.
    static let capacity = 400_000

    /// When keys get sets and pairs are counted (the statics, but for tests of small stores).
    struct Thresholds: Sendable {
        var documents = SetCatalog.threshold
        var share = SetCatalog.share
        /// A word's pairs are counted once it is in 1 of this many documents.
        var pairShare = 64
    }

    let thresholds: Thresholds
    private let tables = Mutex<[String: KeyTable]>([:])

    init(thresholds: Thresholds = Thresholds()) {
        self.thresholds = thresholds
    }

    /// The store's table, checked out for one transaction (the store's single writer uses it).
    func checkOut(_ db: Database) throws -> KeyTable {
        let path = Self.path(db)
        var table = tables.withLock { $0.removeValue(forKey: path) } ?? KeyTable(thresholds: thresholds)
        if table.keys.count > Self.capacity { table = KeyTable(thresholds: thresholds) }
        if table.pairRows.count > Self.capacity { table.pairRows.removeAll() }
        // Another connection wrote the store since (`data_version` moved), or this is not the
        // connection that handed the table back (a new one counts its changes from zero: a store
        // reopened, or a new file where a deleted generation was): documents written elsewhere
        // were not seen with their pairs, so what was seen is no longer the whole story.
        let dataVersion = try Int.fetchOne(db, sql: "PRAGMA data_version")
        if table.dataVersion != dataVersion || sqlite3_total_changes64(db.sqliteConnection) < table.changes {
            table.pairRows.removeAll()
            table.highestRowid = try Int64.fetchOne(db, sql: "SELECT max(rowid) FROM \(SearchProjection.documents)") ?? 0
            table.dataVersion = dataVersion
            table.version = -1
        }
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
    let thresholds: SetCatalog.Thresholds
    var keys: [String] = []
    var index: [String: Int] = [:]
    /// Per token: its word key and its 2- and 3-letter prefix keys (-1: none).
    var tokens: [String: (word: Int, two: Int, three: Int)] = [:]
    var tracked: [Bool] = []
    /// The key's id in the store's key list, 0 while it is not listed (filter values and the
    /// set of all documents are tracked from the start and listed at their first write).
    var ids: [Int64] = []
    /// Documents each key was seen in (added) since this table was made.
    var counts: [Int] = []
    var lastDocument: [Int] = []
    var operations: [[Int64]] = []
    /// Tracked keys with operations in this transaction.
    var dirty: [Int] = []
    /// Untracked keys seen often enough for a set (repeats allowed).
    var candidates: [Int] = []
    var document = 0
    /// Pairs of adjacent frequent words, by ``pairCode(_:_:)``: the key of those with a set,
    /// and the documents those without one were seen in.
    var pairKeys: [Int: Int] = [:]
    var pairRows: [Int: PairRows] = [:]
    /// Per key: whether it is a word whose pairs are counted. Once frequent, always, so that a
    /// pair once counted is counted in every later document (see ``PairRows``). Words become
    /// frequent only between transactions (``promoteFrequentWords()``): within one, keys mapped
    /// while the batch was prepared and keys mapped as documents are written must agree.
    var frequent: [Bool] = []
    /// Words seen often enough to count their pairs from the next transaction on.
    var becameFrequent: [Int] = []
    /// The highest rowid in the store when this table last met it, or recorded since.
    var highestRowid: Int64 = 0
    /// The store's `PRAGMA data_version` then: it moves when another connection writes.
    var dataVersion: Int?
    /// `sqlite3_total_changes64` of the connection at the commit that handed the table back.
    var changes: Int64 = 0
    /// Per key: whether it is a word in some pair of `pairKeys` (a quick no before the lookup).
    var paired: [Bool] = []
    /// The newest key id of the store this table agrees with.
    var version: Int64 = -1

    /// Reloads which keys have sets if the store's list moved without us.
    mutating func synchronize(_ db: Database) throws {
        let stored = try DocumentSets.newestKeyID(db)
        guard stored != version else { return }
        for key in keys.indices {
            ids[key] = 0
            tracked[key] = Self.alwaysTracked(keys[key])
            paired[key] = false
        }
        // A pair keyed here but without a set in this store must be counted (and keyed) again.
        pairKeys.removeAll()
        let rows = try Row.fetchCursor(db, sql: "SELECT id, key FROM \(DocumentSets.keys)")
        while let row = try rows.next() {
            let key: String = row[1]
            let number = index(of: key)
            tracked[number] = true
            ids[number] = row[0]
            if let (first, second) = DocumentSets.pairWords(key) {
                pair(index(of: DocumentSets.wordKey(first)), index(of: DocumentSets.wordKey(second)), key: number)
            }
        }
        version = stored
    }

    mutating func index(of key: String) -> Int {
        if let number = index[key] { return number }
        keys.append(key)
        tracked.append(Self.alwaysTracked(key))
        ids.append(0)
        paired.append(false)
        frequent.append(false)
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

    /// One document's rowid joins (or leaves) the sets of `keys` (as ``touchedKeys`` lists them).
    mutating func record(_ rowid: Int64, keys touched: [Int], adding: Bool) {
        defer { highestRowid = max(highestRowid, rowid) }
        for key in touched {
            guard key >= 0 else {
                countPair(-key - 1, rowid, adding: adding)
                continue
            }
            if adding {
                counts[key] += 1
                if !frequent[key], counts[key] == max(thresholds.documents, document / thresholds.pairShare), isWord(key) {
                    becameFrequent.append(key)
                }
            }
            if tracked[key] {
                if operations[key].isEmpty { dirty.append(key) }
                operations[key].append(adding ? rowid : -rowid)
            } else if adding, counts[key] >= thresholds.documents, counts[key] >= document / thresholds.share {
                candidates.append(key)
            }
        }
    }

    /// A pair without a set seen in one more document (or one fewer); at
    /// ``SetCatalog/threshold`` documents it gets a key, and its set is built with the other
    /// candidates, in this transaction.
    private mutating func countPair(_ code: Int, _ rowid: Int64, adding: Bool) {
        guard adding else {
            pairRows[code]?.remove(rowid)
            return
        }
        let from = highestRowid + 1
        let count = pairRows[code, default: PairRows(from: max(rowid, from))].add(rowid)
        // A pair that got its key earlier in this transaction is still seen until it is built.
        guard count >= thresholds.documents, pairKeys[code] == nil else { return }
        let (first, second) = (code >> 32, code & 0xFFFF_FFFF)
        let key = index(of: DocumentSets.pairKey(String(keys[first].dropFirst(2)), String(keys[second].dropFirst(2))))
        pair(first, second, key: key)
        candidates.append(key)
    }

    private mutating func pair(_ first: Int, _ second: Int, key: Int) {
        pairKeys[Self.pairCode(first, second)] = key
        paired[first] = true
        paired[second] = true
    }

    static func pairCode(_ first: Int, _ second: Int) -> Int { first << 32 | second }

    /// The documents seen with the pair that `key` names, taken for building its set.
    mutating func takeRows(ofPair key: Int) -> PairRows? {
        guard let (first, second) = DocumentSets.pairWords(keys[key]),
            let firstWord = index[DocumentSets.wordKey(first)], let secondWord = index[DocumentSets.wordKey(second)]
        else { return nil }
        return pairRows.removeValue(forKey: Self.pairCode(firstWord, secondWord))
    }

    /// Whether pairs with this word are counted: it was seen in at least the threshold's
    /// documents and in 1 of 64 of all documents seen (a few hundred words at 1M), so only
    /// pairs FTS5 is slow for are counted, a few per document.
    func isFrequent(_ word: Int) -> Bool { frequent[word] }

    /// Starts counting the pairs of the words that became frequent in the transaction just
    /// written: the next one maps all its documents with them.
    mutating func promoteFrequentWords() {
        for word in becameFrequent where counts[word] >= thresholds.documents && counts[word] >= document / thresholds.pairShare {
            frequent[word] = true
        }
        becameFrequent.removeAll()
    }

    func isWord(_ key: Int) -> Bool { keys[key].hasPrefix("w:") }

    /// The distinct keys of a document: the set of all documents, its tokens' words and
    /// prefixes and its pairs of adjacent frequent words (when `wholeDocument`), its filter
    /// values. A pair that has no key yet is listed as `-(pair code) - 1`, for ``record`` to
    /// count. `fields`: the tokens of each text field (a pair never spans two).
    mutating func touchedKeys(
        fields: [[String]], filters: [(name: String, value: String)], wholeDocument: Bool, into touched: inout [Int]
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
            var uncounted: [Int] = []
            for tokens in fields {
                var previous = -1
                for token in tokens {
                    let entry = entry(for: token)
                    touch(entry.word, &self)
                    if entry.two >= 0 { touch(entry.two, &self) }
                    if entry.three >= 0 { touch(entry.three, &self) }
                    if previous >= 0 {
                        // A pair with a set is kept exact whatever its words' frequency now.
                        let code = Self.pairCode(previous, entry.word)
                        if paired[previous], paired[entry.word], let key = pairKeys[code], tracked[key] {
                            touch(key, &self)
                        } else if isFrequent(previous), isFrequent(entry.word) {
                            uncounted.append(code)
                        }
                    }
                    previous = entry.word
                }
            }
            if !uncounted.isEmpty {
                uncounted.sort()
                var last = -1
                for code in uncounted where code != last {
                    touched.append(-code - 1)
                    last = code
                }
            }
        }
        for (name, value) in filters { touch(index(of: DocumentSets.filterKey(name, value)), &self) }
    }

    static func alwaysTracked(_ key: String) -> Bool { key.hasPrefix("a:") || key.hasPrefix("f:") }
}
