import GRDB
import GRDBSQLite
import ProjectorSQLite

/// The statements of one batch: documents and their index entries kept in step by hand, which
/// is about twice as fast as FTS5 sync triggers and never leaves stale tokens behind. Binds and
/// reads through SQLite's C API on GRDB's cached statements: a rebuild runs these once or twice
/// per event, and argument arrays of `DatabaseValue` cost more than the binding itself.
struct DocumentWriter {
    let db: Database
    let fieldCount: Int
    let find: OpaquePointer
    let insertDocument: OpaquePointer
    let deleteDocument: OpaquePointer
    let updateStored: OpaquePointer
    let insertIndex: OpaquePointer
    let deleteIndex: OpaquePointer
    let textIndexes: [Int]
    /// The document sets kept in step (nil: this tokenizer has none).
    let sets: DocumentSetWriter?
    /// The transaction's index changes, written in rowid order at ``flushIndex()``.
    private let pending = PendingIndex()

    init(spec: SearchSpec, sets: DocumentSetWriter?, db: Database) throws {
        self.db = db
        self.sets = sets
        fieldCount = spec.fields.count
        let names = spec.fields.map { $0.name.quotedDatabaseIdentifier }
        let documents = SearchProjection.documents
        let index = SearchProjection.index
        func statement(_ sql: String) throws -> OpaquePointer { try db.cachedStatement(sql: sql).sqliteStatement }
        find = try statement("SELECT rowid, \(names.joined(separator: ", ")) FROM \(documents) WHERE doc_id = ?")
        insertDocument = try statement(
            "INSERT INTO \(documents)(doc_id, position, \(names.joined(separator: ", "))) VALUES (?, ?, \(names.map { _ in "?" }.joined(separator: ", ")))"
        )
        deleteDocument = try statement("DELETE FROM \(documents) WHERE rowid = ?")
        updateStored = try statement(
            "UPDATE \(documents) SET position = ?, \(names.map { "\($0) = ?" }.joined(separator: ", ")) WHERE rowid = ?")
        textIndexes = spec.fields.indices.filter { !spec.fields[$0].filter }
        let textNames = textIndexes.map { names[$0] }
        insertIndex = try statement(
            "INSERT INTO \(index)(rowid, \(textNames.joined(separator: ", "))) VALUES (?, \(textNames.map { _ in "?" }.joined(separator: ", ")))"
        )
        deleteIndex = try statement(
            "INSERT INTO \(index)(\(index), rowid, \(textNames.joined(separator: ", "))) VALUES ('delete', ?, \(textNames.map { _ in "?" }.joined(separator: ", ")))"
        )
    }

    /// The stored row of a document: its rowid and field values.
    func existing(_ docID: String) throws -> (rowid: Int64, values: [String?])? {
        defer { sqlite3_reset(find) }
        SQLiteText.bind(find, 1, docID)
        switch sqlite3_step(find) {
        case SQLITE_DONE: return nil
        case SQLITE_ROW:
            let values = (0..<fieldCount).map { SQLiteText.column(find, Int32($0 + 1)) }
            return (sqlite3_column_int64(find, 0), values)
        case let code: throw db.error(code)
        }
    }

    func delete(_ docID: String) throws {
        guard let (rowid, values) = try existing(docID) else { return }
        try removeFromIndex(rowid, values)
        sqlite3_bind_int64(deleteDocument, 1, rowid)
        try db.runToCompletion(deleteDocument)
    }

    /// Deletes every document of a tenant (a partitioned index's purge).
    func purge(_ tenant: String) throws {
        let keys = try String.fetchAll(
            db, sql: "SELECT doc_id FROM \(SearchProjection.documents) WHERE \(SearchSpec.tenantField) = ?", arguments: [tenant])
        for key in keys { try delete(key) }
    }

    /// Merges the fields the event carries into the document (absent fields keep their value).
    func upsert(_ docID: String, values: [String?], keys: MappedKeys? = nil, position: Int64) throws {
        guard let (rowid, old) = try existing(docID) else {
            try insert(docID, values, keys: keys, position: position)
            return
        }
        var merged = old
        for (index, value) in values.enumerated() where value != nil { merged[index] = value }
        let textChanged = textIndexes.contains { merged[$0] != old[$0] }
        if !textChanged {
            // Only filter fields (or nothing) changed: the index stays as it is.
            sqlite3_bind_int64(updateStored, 1, position)
            for (index, value) in merged.enumerated() { SQLiteText.bind(updateStored, Int32(index + 2), value) }
            sqlite3_bind_int64(updateStored, Int32(merged.count + 2), rowid)
            try db.runToCompletion(updateStored)
            sets?.record(rowid, old, adding: false, wholeDocument: false)
            sets?.record(rowid, merged, adding: true, wholeDocument: false)
            return
        }
        // A changed document moves to a new rowid, so rowid order is recency order.
        try removeFromIndex(rowid, old)
        sqlite3_bind_int64(deleteDocument, 1, rowid)
        try db.runToCompletion(deleteDocument)
        // The event's keys are the document's only when it carries every field.
        let complete = !values.contains(nil)
        try insert(docID, merged, keys: complete ? keys : nil, position: position)
    }

    private func insert(_ docID: String, _ values: [String?], keys: MappedKeys?, position: Int64) throws {
        SQLiteText.bind(insertDocument, 1, docID)
        sqlite3_bind_int64(insertDocument, 2, position)
        for (index, value) in values.enumerated() { SQLiteText.bind(insertDocument, Int32(index + 3), value) }
        try db.runToCompletion(insertDocument)
        let rowid = db.lastInsertedRowID
        pending.add(rowid, textIndexes.map { values[$0] })
        sets?.record(rowid, values, keys: keys, adding: true, wholeDocument: true)
    }

    private func removeFromIndex(_ rowid: Int64, _ values: [String?]) throws {
        pending.remove(rowid, textIndexes.map { values[$0] })
        sets?.record(rowid, values, adding: false, wholeDocument: true)
    }

    /// Writes the transaction's index changes: removals, then additions, each in rowid order.
    /// FTS5 flushes its pending terms to a new segment whenever a write goes to a rowid below the
    /// last one written, so a removal between additions (a revised document) costed a segment.
    func flushIndex() throws {
        for (rowid, values) in pending.removals.sorted(by: { $0.key < $1.key }) {
            sqlite3_bind_int64(deleteIndex, 1, rowid)
            for (offset, value) in values.enumerated() { SQLiteText.bind(deleteIndex, Int32(offset + 2), value) }
            try db.runToCompletion(deleteIndex)
        }
        for (rowid, values) in pending.additions.sorted(by: { $0.key < $1.key }) {
            sqlite3_bind_int64(insertIndex, 1, rowid)
            for (offset, value) in values.enumerated() { SQLiteText.bind(insertIndex, Int32(offset + 2), value) }
            try db.runToCompletion(insertIndex)
        }
        pending.removals.removeAll()
        pending.additions.removeAll()
    }
}

/// A transaction's index changes by rowid: a document added then removed in the same
/// transaction cancels out, and a rowid removed then taken again by a new document is removed
/// (its old text) before it is added (its new text).
final class PendingIndex {
    var removals: [Int64: [String?]] = [:]
    var additions: [Int64: [String?]] = [:]

    func add(_ rowid: Int64, _ texts: [String?]) { additions[rowid] = texts }

    func remove(_ rowid: Int64, _ texts: [String?]) {
        if additions.removeValue(forKey: rowid) == nil { removals[rowid] = texts }
    }
}
