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
        pending.append(Pending(rowid: rowid, values: values, keys: keys, adding: adding, wholeDocument: wholeDocument))
    }

    struct Pending {
        let rowid: Int64
        let values: [String?]
        let keys: [Int]?
        let adding: Bool
        let wholeDocument: Bool
    }

    /// Writes this transaction's changes: new sets for keys seen often enough, then every
    /// touched chunk of the others, in (chunk, key) order: rows of one chunk sit together in
    /// the table's index.
    func flush() throws {
        for document in pending {
            let touched = document.keys ?? keys.numbers(of: document.values, wholeDocument: document.wholeDocument)
            keys.table.record(document.rowid, keys: touched, adding: document.adding)
        }
        pending.removeAll()
        try write()
        // Handed back only after a whole transaction: after an error the next one starts from
        // the store (the preparing thread may not even have finished with it).
        catalog.checkIn(keys.table, db)
    }

    private func write() throws {
        let chunks = try ChunkStatements(db)
        for key in Set(table.candidates) where !table.tracked[key] { try build(key, chunks) }
        table.candidates.removeAll()
        var work: [(chunk: Int64, key: String, operations: [Int64])] = []
        for key in table.dirty where !table.operations[key].isEmpty {
            if !table.listed[key] {
                try chunks.list(table.keys[key])
                table.listed[key] = true
            }
            var byChunk: [Int64: [Int64]] = [:]
            for operation in table.operations[key] { byChunk[abs(operation) >> DocumentSet.chunkShift, default: []].append(operation) }
            for (chunk, operations) in byChunk { work.append((chunk, table.keys[key], operations)) }
            table.operations[key].removeAll()
        }
        table.dirty.removeAll()
        work.sort { $0.chunk != $1.chunk ? $0.chunk < $1.chunk : $0.key < $1.key }
        for item in work { try chunks.apply(item.operations, to: item.key, chunk: item.chunk) }
        table.version = try DocumentSets.newestKeyID(db)
    }

    private var table: KeyTable {
        get { keys.table }
        _modify { yield &keys.table }
    }

    /// A new set for a word or prefix, from the index as it stands in this transaction.
    private func build(_ key: Int, _ chunks: ChunkStatements) throws {
        let name = table.keys[key]
        let set = DocumentSet(ascending: try DocumentSets.indexed(String(name.dropFirst(2)), prefix: name.hasPrefix("p:"), db: db))
        for (chunk, bitmap) in zip(set.chunks, set.bitmaps) { try chunks.insert(name, chunk: chunk, bitmap: bitmap) }
        try chunks.list(name)
        table.tracked[key] = true
        table.listed[key] = true
        table.counts[key] = 0
    }
}

/// Maps a document's values to the numbers of its keys (see ``KeyTable``): used by one thread
/// at a time, the preparing thread while a batch is prepared, then the writer.
final class DocumentKeys: @unchecked Sendable {
    var table: KeyTable
    let tokenizer: TextTokenizer
    let textIndexes: [Int]
    let filterFields: [(index: Int, name: String)]

    init(table: KeyTable, tokenizer: TextTokenizer, spec: SearchSpec) {
        self.table = table
        self.tokenizer = tokenizer
        textIndexes = spec.fields.indices.filter { !spec.fields[$0].filter }
        filterFields = spec.fields.indices.filter { spec.fields[$0].filter }.map { ($0, spec.fields[$0].name) }
    }

    /// The distinct keys of a document with these values: the set of all documents, its words
    /// and prefixes (when `wholeDocument`), its filter values.
    func numbers(of values: [String?], wholeDocument: Bool = true) -> [Int] {
        var tokens: [String] = []
        if wholeDocument {
            for index in textIndexes { if let text = values[index] { tokens += tokenizer.tokens(text) } }
        }
        let filters = filterFields.compactMap { field in values[field.index].map { (field.name, $0) } }
        var touched: [Int] = []
        table.touchedKeys(tokens: tokens, filters: filters, wholeDocument: wholeDocument, into: &touched)
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
        read = try db.cachedStatement(sql: "SELECT rowid, bits FROM \(table) WHERE chunk = ? AND key = ?").sqliteStatement
        update = try db.cachedStatement(sql: "UPDATE \(table) SET bits = ? WHERE rowid = ?").sqliteStatement
        insert = try db.cachedStatement(sql: "INSERT INTO \(table)(chunk, key, bits) VALUES (?, ?, ?)").sqliteStatement
        delete = try db.cachedStatement(sql: "DELETE FROM \(table) WHERE rowid = ?").sqliteStatement
        listKey = try db.cachedStatement(sql: "INSERT INTO \(DocumentSets.keys)(key) VALUES (?)").sqliteStatement
    }

    /// Adds a key to the store's list of keys with sets.
    func list(_ key: String) throws {
        SQLiteText.bind(listKey, 1, key)
        try db.runToCompletion(listKey)
    }

    /// Applies additions (positive rowids) and removals (negative), in order, to one chunk.
    func apply(_ changes: [Int64], to key: String, chunk: Int64) throws {
        var bitmap = [UInt64](repeating: 0, count: DocumentSet.words)
        var rowid: Int64?
        sqlite3_bind_int64(read, 1, chunk)
        SQLiteText.bind(read, 2, key)
        switch sqlite3_step(read) {
        case SQLITE_ROW:
            rowid = sqlite3_column_int64(read, 0)
            bitmap = DocumentSet.decode(DocumentSets.blob(read, 1))
        case SQLITE_DONE: break
        case let code:
            sqlite3_reset(read)
            throw db.error(code)
        }
        sqlite3_reset(read)
        for change in changes {
            let bit = Int(abs(change) & Int64(DocumentSet.chunkSize - 1))
            let mask: UInt64 = 1 << UInt64(bit & 63)
            if change > 0 { bitmap[bit >> 6] |= mask } else { bitmap[bit >> 6] &= ~mask }
        }
        let empty = !bitmap.contains { $0 != 0 }
        switch (rowid, empty) {
        case (nil, true): return
        case (nil, false): try insert(key, chunk: chunk, bitmap: bitmap)
        case (let rowid?, true):
            sqlite3_bind_int64(delete, 1, rowid)
            try db.runToCompletion(delete)
        case (let rowid?, false):
            try bind(update, 1, bitmap)
            sqlite3_bind_int64(update, 2, rowid)
            try db.runToCompletion(update)
        }
    }

    func insert(_ key: String, chunk: Int64, bitmap: [UInt64]) throws {
        sqlite3_bind_int64(insert, 1, chunk)
        SQLiteText.bind(insert, 2, key)
        try bind(insert, 3, bitmap)
        try db.runToCompletion(insert)
    }

    private func bind(_ statement: OpaquePointer, _ index: Int32, _ bitmap: [UInt64]) throws {
        let bytes = DocumentSet.encode(bitmap)
        let code = bytes.withUnsafeBytes {
            sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        }
        guard code == SQLITE_OK else { throw db.error(code) }
    }
}
