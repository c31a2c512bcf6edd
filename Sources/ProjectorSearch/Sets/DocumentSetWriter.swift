import Dispatch
import GRDB
import GRDBSQLite
import ProjectorSQLite

/// A document's keys as mapped in advance: key numbers, each one's impact code (its
/// column-weighted frequency, quantized), the pairs of frequent words without a key by pair
/// code with theirs, and the document's length code.
struct MappedKeys: Sendable {
    var keys: [Int32] = []
    var impacts: [UInt8] = []
    var pairs: [(code: Int, impact: UInt8)] = []
    var length: UInt16 = 0
}

/// Keeps the document sets in step with one `apply`'s writes. Documents are recorded as the
/// index is written; ``flush()`` writes the sets in the same transaction, each touched chunk
/// read, changed and written once however many documents touched it, in (chunk, key) order,
/// with the impacts of word, prefix and pair keys beside their members and each new
/// document's length.
final class DocumentSetWriter {
    private let db: Database
    private let catalog: SetCatalog
    private let spec: SearchSpec
    /// The key table, and the tokenizer that feeds it: the preparing thread maps each event's
    /// text to key numbers while this thread writes the index; the table is this thread's again
    /// once the batch is prepared.
    let keys: DocumentKeys
    private var pending: [Pending] = []

    init?(spec: SearchSpec, catalog: SetCatalog, db: Database) throws {
        guard DocumentSets.supported(spec), let tokenizer = TextTokenizer(spec.tokenizer, db: db) else { return nil }
        self.db = db
        self.catalog = catalog
        self.spec = spec
        keys = DocumentKeys(table: try catalog.checkOut(db), tokenizer: tokenizer, spec: spec)
    }

    /// A document's rowid joins (or leaves) the sets of its words and prefixes (when
    /// `wholeDocument`) and of its filter values. `keys`: its keys when already mapped.
    /// Recorded now, worked into the sets at ``flush()``.
    func record(_ rowid: Int64, _ values: [String?], keys: MappedKeys? = nil, adding: Bool, wholeDocument: Bool) {
        // Mapped already, the values are not needed again (and would hold a copy of the text).
        pending.append(Pending(rowid: rowid, values: keys == nil ? values : [], keys: keys, adding: adding, wholeDocument: wholeDocument))
    }

    struct Pending: Sendable {
        let rowid: Int64
        let values: [String?]
        let keys: MappedKeys?
        let adding: Bool
        let wholeDocument: Bool
    }

    /// Hands what was recorded so far to the keys' queue, which works it into the table once
    /// the batch is prepared, while this thread goes on writing the index.
    func handOff() {
        guard !pending.isEmpty else { return }
        let (documents, keys) = (pending, self.keys)
        pending.removeAll(keepingCapacity: true)
        keys.queue.async { keys.record(documents) }
    }

    /// Writes this transaction's changes: new sets for keys seen often enough, then every
    /// touched chunk of the others, in row id (chunk, key) order: rows of one chunk sit together.
    func flush() throws {
        let keys = self.keys
        keys.queue.sync {}
        keys.record(pending)
        pending.removeAll()
        try write()
        // Handed back only when the transaction commits: after an error or a rollback the next
        // one starts from the store (the preparing thread may not even have finished with the
        // table, and the documents it saw with pairs were never written).
        let catalog = self.catalog
        db.afterNextTransaction { db in
            keys.table.changes = sqlite3_total_changes64(db.sqliteConnection)
            catalog.checkIn(keys.table, db)
        }
    }

    private func write() throws {
        let chunks = try ChunkStatements(db)
        for key in Set(table.candidates) where !table.tracked[key] && !table.isFilter(key) { try build(key, chunks) }
        table.candidates.removeAll()
        try openFields(chunks)
        let grouped = table.log.grouped(keyCount: table.tracked.count) { table.tracked[$0] }
        table.log = SetLog()
        // Each touched chunk once, in row id order; a key's operations are made when its chunk
        // is written (nil), but for the few keys whose operations span chunks.
        var work: [(row: Int64, key: Int, operations: [Int64]?)] = []
        for key in table.tracked.indices where !grouped.range(of: key).isEmpty {
            if table.ids[key] == 0 { table.ids[key] = try chunks.list(table.keys[key]) }
            let range = grouped.range(of: key)
            if let chunk = grouped.soleChunk(range) {
                work.append((DocumentSets.rowID(chunk: chunk, key: table.ids[key]), key, nil))
            } else {
                for (chunk, operations) in Self.byChunk(grouped.operations(range)) {
                    work.append((DocumentSets.rowID(chunk: chunk, key: table.ids[key]), key, operations))
                }
            }
        }
        work.sort { $0.row < $1.row }
        for item in work {
            let operations = item.operations ?? grouped.operations(grouped.range(of: item.key))
            try chunks.apply(operations, row: item.row, weighed: table.isWeighed(item.key))
        }
        try writeLengths()
        table.version = try DocumentSets.newestKeyID(db)
        table.promotePairing()
    }

    /// Each new document's length, in its chunk's row of lengths.
    private func writeLengths() throws {
        guard !table.lengths.isEmpty else { return }
        let read = try db.cachedStatement(sql: "SELECT lengths FROM \(DocumentSets.lengths) WHERE chunk = ?").sqliteStatement
        let write = try db.cachedStatement(sql: "INSERT OR REPLACE INTO \(DocumentSets.lengths)(chunk, lengths) VALUES (?, ?)")
            .sqliteStatement
        var byChunk: [Int64: [(offset: Int, length: UInt16)]] = [:]
        for (rowid, length) in table.lengths {
            byChunk[rowid >> DocumentSet.chunkShift, default: []].append((Int(rowid & Int64(DocumentSet.chunkSize - 1)), length))
        }
        table.lengths.removeAll()
        for (chunk, entries) in byChunk.sorted(by: { $0.key < $1.key }) {
            sqlite3_bind_int64(read, 1, chunk)
            var lengths = sqlite3_step(read) == SQLITE_ROW ? DocumentSets.lengthsRow(DocumentSets.blob(read, 0)) : []
            sqlite3_reset(read)
            if lengths.count != DocumentSet.chunkSize { lengths = [UInt16](repeating: 0, count: DocumentSet.chunkSize) }
            for (offset, length) in entries { lengths[offset] = length }
            sqlite3_bind_int64(write, 1, chunk)
            try ChunkStatements.bind(write, 2, DocumentSets.lengthsBlob(lengths), db: db)
            try db.runToCompletion(write)
        }
    }

    /// Gives up the sets of the filter fields that outgrew them: their keys and rows go, the
    /// field's open key is listed, and this table stops tracking their values.
    private func openFields(_ chunks: ChunkStatements) throws {
        guard !table.fieldsToOpen.isEmpty else { return }
        for field in Set(table.fieldsToOpen) {
            let (low, high) = (DocumentSets.filterKey(field, ""), DocumentSets.filterKey(field, "\u{10FFFF}"))
            try db.execute(
                sql: """
                    DELETE FROM \(DocumentSets.table) WHERE id & 0xFFFFFFFF IN (SELECT id FROM \(DocumentSets.keys) WHERE key > ? AND key < ?);
                    DELETE FROM \(DocumentSets.keys) WHERE key > ? AND key < ?;
                    """,
                arguments: [low, high, low, high])
            _ = try chunks.list(DocumentSets.openKey(field))
            for key in 0..<table.keys.count where table.filterField(key) == field {
                table.tracked[key] = false
                table.ids[key] = 0
            }
        }
        table.fieldsToOpen.removeAll()
    }

    /// A key's operations split by chunk, each chunk's in their order (for the few keys whose
    /// operations span chunks: ``SetLog/Grouped/soleChunk(_:)`` finds the others). They span one
    /// or two chunks: grouping them in a dictionary cost more than writing the chunks.
    static func byChunk(_ operations: [Int64]) -> [(chunk: Int64, operations: [Int64])] {
        let chunkOf = { (operation: Int64) in SetOperation.rowid(operation) >> DocumentSet.chunkShift }
        var groups: [(chunk: Int64, operations: [Int64])] = []
        for operation in operations {
            let chunk = chunkOf(operation)
            if let index = groups.indices.last(where: { groups[$0].chunk == chunk }) {
                groups[index].operations.append(operation)
            } else {
                groups.append((chunk, [operation]))
            }
        }
        return groups
    }

    private var table: KeyTable {
        get { keys.table }
        _modify { yield &keys.table }
    }

    /// A new set for a word, prefix or pair, with its impacts, from the index as it stands in
    /// this transaction (a pair's newer documents from what was seen of it, see ``PairRows``).
    private func build(_ key: Int, _ chunks: ChunkStatements) throws {
        let name = table.keys[key]
        let text = String(name.dropFirst(2))
        var members: [(rowid: Int64, impact: UInt8)]
        if let seen = table.takeRows(ofPair: key) {
            members = try DocumentSets.weighed(text, prefix: false, below: seen.from, spec: spec, db: db)
            members += seen.members
            members.sort { $0.rowid < $1.rowid }
        } else {
            members = try DocumentSets.weighed(text, prefix: name.hasPrefix("p:"), spec: spec, db: db)
        }
        let id = try chunks.list(name)
        var index = 0
        while index < members.count {
            // One chunk's members; a rowid both listed and seen (the last document deleted, its
            // rowid taken again) counts once.
            let chunk = members[index].rowid >> DocumentSet.chunkShift
            var bitmap = [UInt64](repeating: 0, count: DocumentSet.words)
            var impacts = [UInt8](repeating: 0, count: DocumentSet.chunkSize)
            while index < members.count, members[index].rowid >> DocumentSet.chunkShift == chunk {
                let offset = Int(members[index].rowid & Int64(DocumentSet.chunkSize - 1))
                bitmap[offset >> 6] |= 1 << UInt64(offset & 63)
                impacts[offset] = members[index].impact
                index += 1
            }
            try chunks.insert(row: DocumentSets.rowID(chunk: chunk, key: id), bitmap: bitmap, impacts: impacts)
        }
        table.tracked[key] = true
        table.ids[key] = id
    }
}

/// One set operation in a word: a rowid added with its impact code (positive) or removed
/// (negative).
enum SetOperation {
    static func pack(_ rowid: Int64, impact: UInt8) -> Int64 { rowid > 0 ? rowid << 8 | Int64(impact) : -(-rowid << 8) }
    static func rowid(_ operation: Int64) -> Int64 { abs(operation) >> 8 }
    static func impact(_ operation: Int64) -> UInt8 { operation > 0 ? UInt8(operation & 0xFF) : 0 }
}

/// Maps a document's values to the numbers of its keys (see ``KeyTable``): used by one thread
/// at a time, `queue` while a batch is prepared and its documents recorded, then the writer.
final class DocumentKeys: @unchecked Sendable {
    var table: KeyTable
    /// Where the table is worked on while the writer writes the index: the batch's preparation
    /// first, then the documents the writer hands off (``DocumentSetWriter/handOff()``).
    let queue = DispatchQueue(label: "projector.search.keys")
    let tokenizer: TextTokenizer
    let textFields: [(index: Int, weight: Double)]
    let filterFields: [(index: Int, name: String)]
    /// The unit impact codes count in (``DocumentSets/impactUnit(_:)``).
    let unit: Double

    init(table: KeyTable, tokenizer: TextTokenizer, spec: SearchSpec) {
        self.table = table
        self.tokenizer = tokenizer
        textFields = spec.fields.indices.filter { !spec.fields[$0].filter }.map { ($0, spec.fields[$0].weight) }
        filterFields = spec.fields.indices.filter { spec.fields[$0].filter }.map { ($0, spec.fields[$0].name) }
        unit = DocumentSets.impactUnit(spec)
    }

    /// Documents join (or leave) the sets of their keys, in the order they were written.
    func record(_ documents: [DocumentSetWriter.Pending]) {
        for document in documents {
            let mapped = document.keys ?? numbers(of: document.values, wholeDocument: document.wholeDocument)
            table.record(document.rowid, mapped, adding: document.adding, wholeDocument: document.wholeDocument)
        }
    }

    /// The distinct keys of a document with these values (see ``KeyTable/touchedKeys``).
    func numbers(of values: [String?], wholeDocument: Bool = true) -> MappedKeys {
        let texts = wholeDocument ? textFields.compactMap { field in values[field.index].map { ($0, field.weight) } } : []
        let filters = filterFields.compactMap { field in values[field.index].map { (field.name, $0) } }
        var mapped = MappedKeys()
        table.touchedKeys(texts: texts, filters: filters, wholeDocument: wholeDocument, tokenizer: tokenizer, unit: unit, into: &mapped)
        return mapped
    }
}

/// Reads and writes single chunks through SQLite's C API on GRDB's cached statements: a large
/// transaction changes tens of thousands of them. A weighed key's chunk has its members'
/// impacts in a row of their own (same id), in member order.
private struct ChunkStatements {
    let db: Database
    let read: OpaquePointer
    let update: OpaquePointer
    let insert: OpaquePointer
    let delete: OpaquePointer
    let readImpacts: OpaquePointer
    let writeImpacts: OpaquePointer
    let deleteImpacts: OpaquePointer
    let listKey: OpaquePointer

    init(_ db: Database) throws {
        self.db = db
        let table = DocumentSets.table
        let impacts = DocumentSets.impacts
        read = try db.cachedStatement(sql: "SELECT bits FROM \(table) WHERE id = ?").sqliteStatement
        update = try db.cachedStatement(sql: "UPDATE \(table) SET bits = ? WHERE id = ?").sqliteStatement
        insert = try db.cachedStatement(sql: "INSERT INTO \(table)(id, bits) VALUES (?, ?)").sqliteStatement
        delete = try db.cachedStatement(sql: "DELETE FROM \(table) WHERE id = ?").sqliteStatement
        readImpacts = try db.cachedStatement(sql: "SELECT impacts FROM \(impacts) WHERE id = ?").sqliteStatement
        writeImpacts = try db.cachedStatement(sql: "INSERT OR REPLACE INTO \(impacts)(id, impacts) VALUES (?, ?)").sqliteStatement
        deleteImpacts = try db.cachedStatement(sql: "DELETE FROM \(impacts) WHERE id = ?").sqliteStatement
        listKey = try db.cachedStatement(sql: "INSERT INTO \(DocumentSets.keys)(key) VALUES (?)").sqliteStatement
    }

    /// Adds a key to the store's list of keys with sets; returns its id.
    func list(_ key: String) throws -> Int64 {
        SQLiteText.bind(listKey, 1, key)
        try db.runToCompletion(listKey)
        return sqlite3_last_insert_rowid(db.sqliteConnection)
    }

    /// Applies additions and removals (``SetOperation``s), in order, to one chunk's row (and its
    /// impacts, when `weighed`). Most chunks only gain this transaction's new documents, past
    /// their last member: those are appended to the stored container and impacts as they are;
    /// the others are decoded, changed and encoded again.
    func apply(_ changes: [Int64], row: Int64, weighed: Bool) throws {
        sqlite3_bind_int64(read, 1, row)
        let step = sqlite3_step(read)
        guard step == SQLITE_ROW || step == SQLITE_DONE else {
            sqlite3_reset(read)
            throw db.error(step)
        }
        let stored = step == SQLITE_ROW
        let bytes = stored ? DocumentSets.blob(read, 0) : UnsafeRawBufferPointer(start: nil, count: 0)
        let offsets = changes.map { Int(SetOperation.rowid($0) & Int64(DocumentSet.chunkSize - 1)) }
        let onlyAdditions = changes.allSatisfy { $0 > 0 }
        let appendsAtEnd =
            onlyAdditions && (zip(offsets, offsets.dropFirst()).allSatisfy { $0 < $1 })
            && (offsets.first ?? 0) > DocumentSet.lastOffset(bytes)
        let appended = appendsAtEnd ? DocumentSet.appending(changes.map(SetOperation.rowid), to: bytes) : nil
        let decoded = appended == nil && stored ? DocumentSet.decode(bytes) : nil
        sqlite3_reset(read)
        let impacts = weighed ? try storedImpacts(row) : []
        if let appended {
            try write(appended, row: row, update: stored)
            if weighed { try writeImpacts(impacts + changes.map(SetOperation.impact), row: row) }
            return
        }
        var bitmap = decoded ?? [UInt64](repeating: 0, count: DocumentSet.words)
        var dense = weighed ? DocumentSet.spread(impacts, over: bitmap) : []
        for (change, offset) in zip(changes, offsets) {
            let mask: UInt64 = 1 << UInt64(offset & 63)
            if change > 0 { bitmap[offset >> 6] |= mask } else { bitmap[offset >> 6] &= ~mask }
            if weighed { dense[offset] = SetOperation.impact(change) }
        }
        let empty = !bitmap.contains { $0 != 0 }
        switch (stored, empty) {
        case (false, true): return
        case (false, false): try insert(row: row, bitmap: bitmap, impacts: weighed ? dense : nil)
        case (true, true):
            sqlite3_bind_int64(delete, 1, row)
            try db.runToCompletion(delete)
            if weighed {
                sqlite3_bind_int64(deleteImpacts, 1, row)
                try db.runToCompletion(deleteImpacts)
            }
        case (true, false):
            try write(DocumentSet.encode(bitmap), row: row, update: true)
            if weighed { try writeImpacts(DocumentSet.gather(dense, over: bitmap), row: row) }
        }
    }

    /// A new chunk row, with its members' impacts (`impacts` by offset) when weighed.
    func insert(row: Int64, bitmap: [UInt64], impacts: [UInt8]?) throws {
        try write(DocumentSet.encode(bitmap), row: row, update: false)
        if let impacts { try writeImpacts(DocumentSet.gather(impacts, over: bitmap), row: row) }
    }

    private func storedImpacts(_ row: Int64) throws -> [UInt8] {
        sqlite3_bind_int64(readImpacts, 1, row)
        defer { sqlite3_reset(readImpacts) }
        return sqlite3_step(readImpacts) == SQLITE_ROW ? Array(DocumentSets.blob(readImpacts, 0)) : []
    }

    private func writeImpacts(_ impacts: [UInt8], row: Int64) throws {
        sqlite3_bind_int64(writeImpacts, 1, row)
        try Self.bind(writeImpacts, 2, impacts, db: db)
        try db.runToCompletion(writeImpacts)
    }

    private func write(_ container: [UInt8], row: Int64, update: Bool) throws {
        let statement = update ? self.update : insert
        try Self.bind(statement, update ? 1 : 2, container, db: db)
        sqlite3_bind_int64(statement, update ? 2 : 1, row)
        try db.runToCompletion(statement)
    }

    static func bind(_ statement: OpaquePointer, _ index: Int32, _ bytes: [UInt8], db: Database) throws {
        let code = bytes.withUnsafeBytes {
            sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        }
        guard code == SQLITE_OK else { throw db.error(code) }
    }
}
