import Dispatch
import GRDB
import GRDBSQLite
import ProjectorSQLite

/// Keeps the document sets in step with one `apply`'s writes. Documents are recorded as the
/// index is written; ``flush()`` writes the sets in the same transaction, each touched chunk
/// read, changed and written once however many documents touched it, in (chunk, key) order.
final class DocumentSetWriter {
    private let db: Database
    private let catalog: SetCatalog
    /// The key table, and the tokenizer that feeds it: the preparing thread maps each event's
    /// text to key numbers while this thread writes the index; the table is this thread's again
    /// once the batch is prepared.
    let keys: DocumentKeys
    private var pending: [Pending] = []

    init?(spec: SearchSpec, catalog: SetCatalog, db: Database) throws {
        guard DocumentSets.supported(spec), let tokenizer = TextTokenizer(spec.tokenizer, db: db) else { return nil }
        self.db = db
        self.catalog = catalog
        keys = DocumentKeys(table: try catalog.checkOut(db), tokenizer: tokenizer, spec: spec)
    }

    /// A document's rowid joins (or leaves) the sets of its words and prefixes (when
    /// `wholeDocument`) and of its filter values. `keys`: its key numbers when already mapped.
    /// Recorded now, worked into the sets at ``flush()``.
    func record(_ rowid: Int64, _ values: [String?], keys: [Int]? = nil, adding: Bool, wholeDocument: Bool) {
        // Mapped already, the values are not needed again (and would hold a copy of the text).
        pending.append(Pending(rowid: rowid, values: keys == nil ? values : [], keys: keys, adding: adding, wholeDocument: wholeDocument))
    }

    struct Pending: Sendable {
        let rowid: Int64
        let values: [String?]
        let keys: [Int]?
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
        // The transaction's operations by key, each key's in their order.
        var byKey: [Int: [Int64]] = [:]
        for operation in table.log {
            let (key, rowid) = KeyTable.unpack(operation)
            if table.tracked[key] { byKey[key, default: []].append(rowid) }
        }
        table.log.removeAll()
        var work: [(row: Int64, operations: [Int64])] = []
        for (key, operations) in byKey {
            if table.ids[key] == 0 { table.ids[key] = try chunks.list(table.keys[key]) }
            for (chunk, operations) in Self.byChunk(operations) {
                work.append((DocumentSets.rowID(chunk: chunk, key: table.ids[key]), operations))
            }
        }
        work.sort { $0.row < $1.row }
        for item in work { try chunks.apply(item.operations, row: item.row) }
        table.version = try DocumentSets.newestKeyID(db)
        table.promoteFrequentWords()
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

    /// A key's operations split by chunk, each chunk's in their order. Nearly all are the
    /// transaction's new documents, ascending, in one or two chunks: grouping them in a
    /// dictionary cost more than writing the chunks.
    static func byChunk(_ operations: [Int64]) -> [(chunk: Int64, operations: [Int64])] {
        let first = abs(operations[0]) >> DocumentSet.chunkShift
        if abs(operations[operations.count - 1]) >> DocumentSet.chunkShift == first,
            operations.allSatisfy({ abs($0) >> DocumentSet.chunkShift == first })
        {
            return [(first, operations)]
        }
        var groups: [(chunk: Int64, operations: [Int64])] = []
        for operation in operations {
            let chunk = abs(operation) >> DocumentSet.chunkShift
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

    /// A new set for a word, prefix or pair, from the index as it stands in this transaction
    /// (a pair's newer documents from what was seen of it, see ``PairRows``).
    private func build(_ key: Int, _ chunks: ChunkStatements) throws {
        let name = table.keys[key]
        let text = String(name.dropFirst(2))
        // A rowid both listed and seen (the last document deleted, its rowid taken again) is
        // counted once: the set is built from ascending rowids, repeats allowed.
        let set =
            if let seen = table.takeRows(ofPair: key) {
                DocumentSet(ascending: try (DocumentSets.indexed(text, prefix: false, below: seen.from, db: db) + seen.rows).sorted())
            } else {
                DocumentSet(ascending: try DocumentSets.indexed(text, prefix: name.hasPrefix("p:"), db: db))
            }
        let id = try chunks.list(name)
        for (chunk, bitmap) in zip(set.chunks, set.bitmaps) {
            try chunks.insert(row: DocumentSets.rowID(chunk: chunk, key: id), bitmap: bitmap)
        }
        table.tracked[key] = true
        table.ids[key] = id
    }
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

    init(table: KeyTable, tokenizer: TextTokenizer, spec: SearchSpec) {
        self.table = table
        self.tokenizer = tokenizer
        textFields = spec.fields.indices.filter { !spec.fields[$0].filter }.map { ($0, spec.fields[$0].weight) }
        filterFields = spec.fields.indices.filter { spec.fields[$0].filter }.map { ($0, spec.fields[$0].name) }
    }

    /// Documents join (or leave) the sets of their keys, in the order they were written.
    func record(_ documents: [DocumentSetWriter.Pending]) {
        for document in documents {
            let touched = document.keys ?? numbers(of: document.values, wholeDocument: document.wholeDocument)
            table.record(document.rowid, keys: touched, adding: document.adding)
        }
    }

    /// The distinct keys of a document with these values (see ``KeyTable/touchedKeys``).
    func numbers(of values: [String?], wholeDocument: Bool = true) -> [Int] {
        let texts = wholeDocument ? textFields.compactMap { field in values[field.index].map { ($0, field.weight) } } : []
        let filters = filterFields.compactMap { field in values[field.index].map { (field.name, $0) } }
        var touched: [Int] = []
        table.touchedKeys(texts: texts, filters: filters, wholeDocument: wholeDocument, tokenizer: tokenizer, into: &touched)
        return touched
    }
}

/// Reads and writes single chunks through SQLite's C API on GRDB's cached statements: a large
/// transaction changes tens of thousands of them.
private struct ChunkStatements {
    let db: Database
    let read: OpaquePointer
    let update: OpaquePointer
    let insert: OpaquePointer
    let delete: OpaquePointer
    let listKey: OpaquePointer

    init(_ db: Database) throws {
        self.db = db
        let table = DocumentSets.table
        read = try db.cachedStatement(sql: "SELECT bits FROM \(table) WHERE id = ?").sqliteStatement
        update = try db.cachedStatement(sql: "UPDATE \(table) SET bits = ? WHERE id = ?").sqliteStatement
        insert = try db.cachedStatement(sql: "INSERT INTO \(table)(id, bits) VALUES (?, ?)").sqliteStatement
        delete = try db.cachedStatement(sql: "DELETE FROM \(table) WHERE id = ?").sqliteStatement
        listKey = try db.cachedStatement(sql: "INSERT INTO \(DocumentSets.keys)(key) VALUES (?)").sqliteStatement
    }

    /// Adds a key to the store's list of keys with sets; returns its id.
    func list(_ key: String) throws -> Int64 {
        SQLiteText.bind(listKey, 1, key)
        try db.runToCompletion(listKey)
        return sqlite3_last_insert_rowid(db.sqliteConnection)
    }

    /// Applies additions (positive rowids) and removals (negative), in order, to one chunk's row.
    /// Most chunks only gain this transaction's new documents: those are appended to the stored
    /// container as it is; the others are decoded, changed and encoded again.
    func apply(_ changes: [Int64], row: Int64) throws {
        sqlite3_bind_int64(read, 1, row)
        let step = sqlite3_step(read)
        guard step == SQLITE_ROW || step == SQLITE_DONE else {
            sqlite3_reset(read)
            throw db.error(step)
        }
        let stored = step == SQLITE_ROW
        let bytes = stored ? DocumentSets.blob(read, 0) : UnsafeRawBufferPointer(start: nil, count: 0)
        let appended = changes.allSatisfy { $0 > 0 } ? DocumentSet.appending(changes, to: bytes) : nil
        let decoded = appended == nil && stored ? DocumentSet.decode(bytes) : nil
        sqlite3_reset(read)
        if let appended {
            try write(appended, row: row, update: stored)
            return
        }
        var bitmap = decoded ?? [UInt64](repeating: 0, count: DocumentSet.words)
        for change in changes {
            let bit = Int(abs(change) & Int64(DocumentSet.chunkSize - 1))
            let mask: UInt64 = 1 << UInt64(bit & 63)
            if change > 0 { bitmap[bit >> 6] |= mask } else { bitmap[bit >> 6] &= ~mask }
        }
        let empty = !bitmap.contains { $0 != 0 }
        switch (stored, empty) {
        case (false, true): return
        case (false, false): try insert(row: row, bitmap: bitmap)
        case (true, true):
            sqlite3_bind_int64(delete, 1, row)
            try db.runToCompletion(delete)
        case (true, false): try write(DocumentSet.encode(bitmap), row: row, update: true)
        }
    }

    func insert(row: Int64, bitmap: [UInt64]) throws {
        try write(DocumentSet.encode(bitmap), row: row, update: false)
    }

    private func write(_ container: [UInt8], row: Int64, update: Bool) throws {
        let statement = update ? self.update : insert
        try bind(statement, update ? 1 : 2, container)
        sqlite3_bind_int64(statement, update ? 2 : 1, row)
        try db.runToCompletion(statement)
    }

    private func bind(_ statement: OpaquePointer, _ index: Int32, _ bytes: [UInt8]) throws {
        let code = bytes.withUnsafeBytes {
            sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        }
        guard code == SQLITE_OK else { throw db.error(code) }
    }
}
