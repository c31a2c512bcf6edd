import CFTS5
import GRDB
import GRDBSQLite
import Synchronization

/// What the set writer remembers between transactions, per store file: every key it has met,
/// so a token's keys are built and hashed once rather than once per transaction; which keys
/// have sets; and, for those that do not yet, in how many documents they were seen. A word or
/// prefix seen in ``threshold`` documents and in 1 of ``share`` of all documents gets its set
/// (built from FTS5, then kept in step).
/// So does a pair of adjacent words, counted only where both words are frequent or one is
/// common (see ``KeyTable/classes(_:)``): a phrase of two common words costs FTS5 a walk over both
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
        /// A word in this many documents and 1 of ``commonShare`` is common: its pairs with every
        /// word that has a set are counted too. Below it FTS5 walks a doclist in well under a
        /// millisecond.
        var common = 65_536
        var commonShare = 4
        /// A pair FTS5 is slow to find (see ``KeyTable/pairRule(_:_:)``) gets its set from
        /// this many documents instead of ``documents``.
        var slowPair = 128
        /// The doclist entries (larger + 10 x smaller) from which FTS5 is slow to find a pair.
        var slowWalk = 350_000
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
        if table.pairRows.count + table.pairCounts.count > Self.capacity {
            table.pairRows.removeAll()
            table.pairCounts.removeAll()
        }
        // Another connection wrote the store since (`data_version` moved), or this is not the
        // connection that handed the table back (a new one counts its changes from zero: a store
        // reopened, or a new file where a deleted generation was): documents written elsewhere
        // were not seen with their pairs, so what was seen is no longer the whole story.
        let dataVersion = try Int.fetchOne(db, sql: "PRAGMA data_version")
        if table.dataVersion != dataVersion || sqlite3_total_changes64(db.sqliteConnection) < table.changes {
            table.pairRows.removeAll()
            table.pairCounts.removeAll()
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

/// The interned keys of one table, in C (``projector_keys``): a token's keys are found by its
/// bytes, so the text of a document never becomes Swift strings on the way to its keys.
final class KeyMap: @unchecked Sendable {
    let handle: OpaquePointer

    init() {
        handle = projector_keys_new()
    }

    deinit { projector_keys_free(handle) }

    var count: Int { Int(projector_keys_count(handle)) }

    func name(_ key: Int) -> String {
        var length: Int32 = 0
        let bytes = projector_keys_name(handle, Int32(key), &length)!
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: Int(length)), as: UTF8.self)
    }

    func intern(_ name: String) -> Int {
        var name = name
        return name.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { Int(projector_keys_intern(handle, $0.baseAddress, Int32($0.count))) }
        }
    }
}

/// The keys of one store's sets, by number, and the work of the transaction in progress. Words
/// and prefixes are interned by the C map as documents are mapped; filter values, pairs and the
/// set of all documents by name. Per-key state lives in arrays indexed by key number, grown as
/// the map grows.
struct KeyTable: Sendable {
    let thresholds: SetCatalog.Thresholds
    let map = KeyMap()
    var tracked: [Bool] = []
    /// The key's id in the store's key list, 0 while it is not listed (filter values and the
    /// set of all documents are tracked from the start and listed at their first write).
    var ids: [Int64] = []
    /// Documents each key was seen in (added) since this table was made.
    var counts: [Int] = []
    /// This transaction's set operations, in order.
    var log = SetLog()
    /// The length code of each document added whole in this transaction.
    var lengths: [(rowid: Int64, length: UInt16)] = []
    /// Untracked keys seen often enough for a set (repeats allowed).
    var candidates: [Int] = []
    var document = 0
    /// Pairs of adjacent frequent words, by ``pairCode(_:_:)``: the key of those with a set,
    /// and the documents those without one were seen in.
    var pairKeys: [Int: Int] = [:]
    var pairRows: [Int: PairRows] = [:]
    /// Pairs counted but not yet seen often enough to keep their rows (most never are).
    var pairCounts: [Int: Int] = [:]
    /// Words that reached a class's documents, to be given it from the next transaction on.
    var reachedClass: [Int] = []
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
    /// The number of the set of all documents.
    let allKey: Int
    /// Per filter field: how many of its values the store lists, or nil once the field is open
    /// (``DocumentSets/openKey(_:)``); and fields to open in this transaction.
    var filterValueCounts: [String: Int?] = [:]
    var fieldsToOpen: [String] = []

    init(thresholds: SetCatalog.Thresholds) {
        self.thresholds = thresholds
        allKey = map.intern(DocumentSets.allKey)
        grow()
    }

    /// Key names, for the store's key list and for tests.
    var keys: KeyNames { KeyNames(map: map) }

    /// Makes room in the per-key arrays for every key the map holds.
    mutating func grow() {
        let count = map.count
        guard tracked.count < count else { return }
        for key in tracked.count..<count {
            tracked.append(isTrackedFromStart(key))
            ids.append(0)
            counts.append(0)
            paired.append(false)
        }
    }

    /// Reloads which keys have sets if the store's list moved without us.
    mutating func synchronize(_ db: Database) throws {
        let stored = try DocumentSets.newestKeyID(db)
        guard stored != version else { return }
        let listed = try Row.fetchAll(db, sql: "SELECT id, key FROM \(DocumentSets.keys)").map { ($0[0] as Int64, $0[1] as String) }
        // Which filter fields are open, and how many values the closed ones list.
        filterValueCounts.removeAll()
        for (_, key) in listed {
            if key.hasPrefix("o:") {
                filterValueCounts[String(key.dropFirst(2))] = .some(nil)
            } else if key.hasPrefix("f:"), let field = key.dropFirst(2).split(separator: "\u{1}", maxSplits: 1).first {
                if let count = filterValueCounts[String(field)] {
                    filterValueCounts[String(field)] = count.map { $0 + 1 }
                } else {
                    filterValueCounts[String(field)] = 1
                }
            }
        }
        for key in tracked.indices {
            ids[key] = 0
            tracked[key] = isTrackedFromStart(key)
            if paired[key] { projector_keys_set_paired(map.handle, Int32(key), 0) }
            paired[key] = false
        }
        // A pair keyed here but without a set in this store must be counted (and keyed) again.
        pairKeys.removeAll()
        for (id, key) in listed {
            let number = index(of: key)
            tracked[number] = true
            ids[number] = id
            if let (first, second) = DocumentSets.pairWords(key) {
                pair(index(of: DocumentSets.wordKey(first)), index(of: DocumentSets.wordKey(second)), key: number)
            }
        }
        version = stored
    }

    mutating func index(of key: String) -> Int {
        let number = map.intern(key)
        grow()
        return number
    }

    func isFilter(_ key: Int) -> Bool { map.name(key).hasPrefix("f:") }

    /// Whether a key's set carries impacts: words, prefixes and pairs.
    func isWeighed(_ key: Int) -> Bool {
        let name = map.name(key)
        return name.hasPrefix("w:") || name.hasPrefix("p:") || name.hasPrefix("g:")
    }

    /// The set of all documents and the values of closed filter fields have sets from the
    /// first document on; other keys once they are frequent.
    func isTrackedFromStart(_ key: Int) -> Bool {
        if key == allKey { return true }
        guard let field = filterField(key) else { return false }
        return filterValueCounts[field].map { $0 != nil } ?? true
    }

    /// The filter field a key is a value of.
    func filterField(_ key: Int) -> String? {
        let name = map.name(key)
        guard name.hasPrefix("f:") else { return nil }
        return name.dropFirst(2).split(separator: "\u{1}", maxSplits: 1).first.map(String.init)
    }

    func isWord(_ key: Int) -> Bool { map.name(key).hasPrefix("w:") }

    /// One document's rowid joins (or leaves) the sets of its keys (as ``DocumentKeys`` maps them).
    mutating func record(_ rowid: Int64, _ mapped: MappedKeys, adding: Bool, wholeDocument: Bool) {
        defer { highestRowid = max(highestRowid, rowid) }
        if adding, wholeDocument { lengths.append((rowid, mapped.length)) }
        defer { log.endDocument(rowid, adding: adding) }
        let (frequentCount, pairableCount, commonCount) = (frequentCount, pairableCount, commonCount)
        for (key, impact) in zip(mapped.keys.lazy.map(Int.init), mapped.impacts) {
            if adding {
                counts[key] += 1
                let count = counts[key]
                if count == frequentCount || count == pairableCount || count == commonCount, isWord(key) {
                    reachedClass.append(key)
                }
            }
            if tracked[key] {
                log.append(key, impact: adding ? impact : 0)
            } else if adding, counts[key] >= thresholds.documents, counts[key] >= document / thresholds.share {
                candidates.append(key)
            }
        }
        for (code, impact) in mapped.pairs { countPair(code, rowid, impact: impact, adding: adding) }
    }

    /// A pair without a set seen in one more document (or one fewer); at the threshold's
    /// documents it gets a key, and its set is built with the other candidates, in this
    /// transaction.
    private mutating func countPair(_ code: Int, _ rowid: Int64, impact: UInt8, adding: Bool) {
        guard adding else {
            pairRows[code]?.remove(rowid)
            return
        }
        let (threshold, keptFrom) = pairRule(code >> 32, code & 0xFFFF_FFFF)
        if pairRows[code] == nil {
            // Rows are kept from the pair's `keptFrom`th document on: FTS5 lists the ones before.
            let seen = pairCounts[code, default: 0] + 1
            guard seen >= keptFrom else {
                pairCounts[code] = seen
                return
            }
            pairCounts[code] = nil
            pairRows[code] = PairRows(from: max(rowid, highestRowid + 1))
        }
        let count = pairRows[code]!.add(rowid, impact: impact)
        // A pair that got its key earlier in this transaction is still seen until it is built.
        guard count >= threshold, pairKeys[code] == nil else { return }
        let (first, second) = (code >> 32, code & 0xFFFF_FFFF)
        let key = index(of: DocumentSets.pairKey(String(map.name(first).dropFirst(2)), String(map.name(second).dropFirst(2))))
        pair(first, second, key: key)
        candidates.append(key)
    }

    private mutating func pair(_ first: Int, _ second: Int, key: Int) {
        pairKeys[Self.pairCode(first, second)] = key
        for word in [first, second] where !paired[word] {
            paired[word] = true
            projector_keys_set_paired(map.handle, Int32(word), 1)
        }
    }

    static func pairCode(_ first: Int, _ second: Int) -> Int { first << 32 | second }

    /// The documents seen with the pair that `key` names, taken for building its set.
    mutating func takeRows(ofPair key: Int) -> PairRows? {
        guard let (first, second) = DocumentSets.pairWords(map.name(key)) else { return nil }
        let (firstWord, secondWord) = (index(of: DocumentSets.wordKey(first)), index(of: DocumentSets.wordKey(second)))
        return pairRows.removeValue(forKey: Self.pairCode(firstWord, secondWord))
    }

    /// The documents from which a pair gets its set (fewer when FTS5 is slow to find it), and
    /// from which of them its rows are kept (``PairRows``): a pair with a common word is counted
    /// from early on, so its rows are kept from its 4th document, and building its set lists little
    /// from FTS5. FTS5 walks the larger word's doclist nearly whole once the smaller one's
    /// documents are spread through it, and compares positions in each of those (about 10 times
    /// the cost of a step), so both words' documents estimate its time; under ``Thresholds/common``
    /// documents the walk is quick.
    func pairRule(_ first: Int, _ second: Int) -> (documents: Int, keptFrom: Int) {
        let (smaller, larger) = (min(counts[first], counts[second]), max(counts[first], counts[second]))
        let slow = smaller >= pairableCount && larger >= thresholds.common && larger + 10 * smaller >= thresholds.slowWalk
        let documents = slow ? thresholds.slowPair : thresholds.documents
        let common = (classes(first) | classes(second)) & UInt8(PROJECTOR_COMMON) != 0
        return (documents, common ? 4 : max(1, thresholds.documents / 8))
    }

    /// A word is frequent in the threshold's documents and 1 of 64 of all documents seen (a few
    /// hundred words at 1M), pairable in 1 of 512 (as for a set), common in 1 of 4 (a few words).
    private var frequentCount: Int { max(thresholds.documents, document / thresholds.pairShare) }
    private var pairableCount: Int { max(thresholds.documents / 8, document / thresholds.share) }
    private var commonCount: Int { max(thresholds.common, document / thresholds.commonShare) }

    /// A word's classes for pairs (`PROJECTOR_FREQUENT`, `_COMMON`, `_PAIRABLE`), as the key map
    /// holds them, which say whose pairs are counted (`projector_pairs_counted`); not whether it is
    /// paired (``paired``). Classes are only ever added, so that a pair once counted is counted in
    /// every later document (see ``PairRows``), and only between transactions
    /// (``promotePairing()``): within one, keys mapped while the batch was prepared and keys
    /// mapped as documents are written must agree.
    func classes(_ word: Int) -> UInt8 {
        projector_keys_pairing(map.handle, Int32(word)) & ~UInt8(PROJECTOR_PAIRED)
    }

    /// A word's classes for pairs at `count` documents.
    private func pairingClasses(_ count: Int) -> UInt8 {
        var classes: UInt8 = 0
        if count >= frequentCount { classes |= UInt8(PROJECTOR_FREQUENT) }
        if count >= pairableCount { classes |= UInt8(PROJECTOR_PAIRABLE) }
        if count >= commonCount, count >= pairableCount { classes |= UInt8(PROJECTOR_COMMON) }
        return classes
    }

    /// Gives the words that reached a class in the transaction just written their classes:
    /// the next transaction maps all its documents with them.
    mutating func promotePairing() {
        for word in reachedClass {
            let classes = pairingClasses(counts[word]) & ~self.classes(word)
            guard classes != 0 else { continue }
            projector_keys_add_pairing(map.handle, Int32(word), Int32(classes))
        }
        reachedClass.removeAll()
    }

    /// The distinct keys of a document: the set of all documents, its tokens' words and
    /// prefixes and its pairs of adjacent frequent words (when `wholeDocument`), its filter
    /// values, each with its impact code (`unit`: see ``DocumentSets/impactUnit(_:)``), and the
    /// document's length code. A pair that has no key yet is listed apart by its code, for
    /// ``record`` to count. `texts`: each text field with its weight (a pair never spans two).
    mutating func touchedKeys(
        texts: [(text: String, weight: Double)], filters: [(name: String, value: String)], wholeDocument: Bool,
        tokenizer: TextTokenizer, unit: Double, into mapped: inout MappedKeys
    ) {
        document += 1
        let handle = map.handle
        projector_keys_begin(handle)
        if wholeDocument {
            projector_keys_touch(handle, Int32(allKey))
            for (text, weight) in texts {
                var text = text
                text.withUTF8 { bytes in
                    bytes.withMemoryRebound(to: CChar.self) {
                        _ = projector_keys_add_text(handle, tokenizer.handle, $0.baseAddress, Int32($0.count), Float(weight))
                    }
                }
            }
            mapped.length = UInt16(projector_length_code(Int64(projector_keys_length(handle))))
        }
        for (name, value) in filters {
            guard let count = filterValueCounts[name, default: 0] else { continue }  // open: no sets
            let before = map.count
            let key = index(of: DocumentSets.filterKey(name, value))
            if map.count > before {
                // A value this table had not met: past the limit the field opens.
                // A partitioned index's tenants keep their sets however many there are.
                if count >= DocumentSets.maxFilterValues, name != SearchSpec.tenantField {
                    filterValueCounts[name] = .some(nil)
                    fieldsToOpen.append(name)
                    continue
                }
                filterValueCounts[name] = count + 1
            }
            projector_keys_touch(handle, Int32(key))
        }
        grow()
        var keys: UnsafePointer<Int32>?
        var weights: UnsafePointer<Float>?
        let count = Int(projector_keys_document(handle, &keys, &weights))
        mapped.keys.removeAll(keepingCapacity: true)
        mapped.impacts.removeAll(keepingCapacity: true)
        mapped.pairs.removeAll(keepingCapacity: true)
        mapped.keys.reserveCapacity(count)
        mapped.impacts.reserveCapacity(count)
        if count > 0, let keys, let weights {
            for i in 0..<count {
                mapped.keys.append(keys[i])
                mapped.impacts.append(UInt8(projector_impact_code(Double(weights[i]), unit)))
            }
        }
        guard wholeDocument else { return }
        var firsts: UnsafePointer<Int32>?
        var seconds: UnsafePointer<Int32>?
        var pairWeights: UnsafePointer<Float>?
        let pairs = Int(projector_keys_pairs(handle, &firsts, &seconds, &pairWeights))
        for i in 0..<pairs {
            let (first, second) = (Int(firsts![i]), Int(seconds![i]))
            let code = Self.pairCode(first, second)
            let impact = UInt8(projector_impact_code(Double(pairWeights![i]), unit))
            // A pair with a set is kept exact whatever its words' frequency now.
            if paired[first], paired[second], let key = pairKeys[code], tracked[key] {
                mapped.keys.append(Int32(key))
                mapped.impacts.append(impact)
            } else if projector_pairs_counted(classes(first), classes(second)) != 0 {
                mapped.pairs.append((code, impact))
            }
        }
        mapped.pairs.sort { $0.code < $1.code }
    }
}

/// Key names by number, read from the C map.
struct KeyNames {
    let map: KeyMap
    subscript(key: Int) -> String { map.name(key) }
    var count: Int { map.count }
}
