public import GRDB
public import ProjectorCore

/// A search index projection from a ``SearchSpec``: a documents table with the current field
/// values, an external-content FTS5 index over the text fields, and an fts5vocab view for typo
/// suggestions. Written in the host's transaction, with the checkpoint: never stale, never
/// drifting from its documents.
public struct SearchProjection: Projection {
    public let spec: SearchSpec
    public var name: String { spec.name }
    public var kind: String { "search" }
    public let fingerprint: String
    public var eventTypes: Set<String>? { spec.eventTypes }
    public var errorPolicy: ErrorPolicy { spec.errorPolicy }
    public var definition: String? { spec.source }

    /// Table names inside the projection's own store.
    public static let documents = "documents"
    public static let index = "documents_fts"
    public static let vocabulary = "documents_vocab"

    /// Private-use characters that mark matches in snippets; stripped from indexed text.
    static let markOpen: Character = "\u{E000}"
    static let markClose: Character = "\u{E001}"

    public init(spec: SearchSpec) {
        self.spec = spec
        fingerprint = Fingerprint.of(Self.canonical(spec))
    }

    static func canonical(_ spec: SearchSpec) -> String {
        var parts = ["search/1", spec.name, "id=\(spec.id)", "tokenizer=\(spec.tokenizer.rawValue)"]
        parts.append("events=" + (spec.eventTypes.map { $0.sorted().joined(separator: ",") } ?? "*"))
        parts.append("delete=" + spec.deleteTypes.sorted().joined(separator: ","))
        parts.append("tieBreak=" + (spec.tieBreak ?? ""))
        for field in spec.fields {
            parts.append("field=\(field.name)|\(field.path)|\(field.weight)|\(field.format.rawValue)|\(field.filter)")
        }
        return parts.joined(separator: "\n")
    }

    var tokenizeOption: String {
        switch spec.tokenizer {
        case .unicode61: "unicode61 remove_diacritics 2"
        case .porter: "porter unicode61 remove_diacritics 2"
        case .trigram: "trigram"
        }
    }

    /// Prefix indexes make 2- and 3-letter as-you-type prefixes one doclist read instead of a
    /// merge of every matching term's (trigram has no prefix queries).
    var prefixOption: String { spec.tokenizer == .trigram ? "" : ", prefix='2 3'" }

    public func setUp(_ db: Database) throws {
        let columns = spec.fields.map { "\($0.name.quotedDatabaseIdentifier) TEXT" }.joined(separator: ", ")
        try db.execute(
            sql: """
                CREATE TABLE \(Self.documents)(
                    rowid INTEGER PRIMARY KEY, doc_id TEXT NOT NULL UNIQUE, position INTEGER NOT NULL, \(columns))
                """)
        for field in spec.filterFields {
            try db.execute(
                sql: "CREATE INDEX \("documents_by_\(field.name)".quotedDatabaseIdentifier) ON \(Self.documents)(\(field.name.quotedDatabaseIdentifier))")
        }
        // Exact-name matches are looked up by the heaviest text field, whatever the rank window.
        let primary = spec.textFields[0].name
        try db.execute(
            sql: "CREATE INDEX documents_name ON \(Self.documents)(\(primary.quotedDatabaseIdentifier) COLLATE NOCASE)")
        if let tieBreak = spec.tieBreak {
            try db.execute(sql: "CREATE INDEX documents_tiebreak ON \(Self.documents)(\(tieBreak.quotedDatabaseIdentifier))")
        }
        let textColumns = spec.textFields.map { $0.name.quotedDatabaseIdentifier }.joined(separator: ", ")
        try db.execute(
            sql: """
                CREATE VIRTUAL TABLE \(Self.index) USING fts5(\(textColumns), content='\(Self.documents)', \
                content_rowid='rowid', tokenize='\(tokenizeOption)'\(prefixOption))
                """)
        try db.execute(sql: "CREATE VIRTUAL TABLE \(Self.vocabulary) USING fts5vocab(\(Self.index), row)")
    }

    public func apply(_ events: [RecordedEvent], _ db: Database) throws {
        let writer = try DocumentWriter(spec: spec, db: db)
        for event in events {
            guard let docID = spec.id.value(in: event), !docID.isEmpty else { continue }
            if spec.deleteTypes.contains(event.type) {
                try writer.delete(docID)
                continue
            }
            var values: [String?] = Array(repeating: nil, count: spec.fields.count)
            for (index, field) in spec.fields.enumerated() {
                guard let raw = field.path.value(in: event) else { continue }
                let text = field.format == .html ? HTMLText.text(raw) : raw
                values[index] = Self.sanitize(text)
            }
            try writer.upsert(docID, values: values, position: event.position)
        }
    }

    /// Removes control characters (but line breaks and tabs) and the highlight markers.
    static func sanitize(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 || (0xE000...0xE001).contains($0.value) || $0.value == 0x7F })
        else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar == "\n" || scalar == "\t" {
                scalars.append(scalar)
            } else if scalar.value < 0x20 || scalar.value == 0x7F || (0xE000...0xE001).contains(scalar.value) {
                scalars.append(" ")
            } else {
                scalars.append(scalar)
            }
        }
        return String(scalars)
    }
}

/// The statements of one batch: documents and their index entries kept in step by hand, which
/// is about twice as fast as FTS5 sync triggers and never leaves stale tokens behind.
struct DocumentWriter {
    let spec: SearchSpec
    let db: Database
    let find: Statement
    let insertDocument: Statement
    let deleteDocument: Statement
    let updateStored: Statement
    let insertIndex: Statement
    let deleteIndex: Statement
    let textIndexes: [Int]

    init(spec: SearchSpec, db: Database) throws {
        self.spec = spec
        self.db = db
        let names = spec.fields.map { $0.name.quotedDatabaseIdentifier }
        let documents = SearchProjection.documents
        let index = SearchProjection.index
        find = try db.cachedStatement(
            sql: "SELECT rowid, \(names.joined(separator: ", ")) FROM \(documents) WHERE doc_id = ?")
        insertDocument = try db.cachedStatement(
            sql: "INSERT INTO \(documents)(doc_id, position, \(names.joined(separator: ", "))) VALUES (?, ?, \(names.map { _ in "?" }.joined(separator: ", ")))")
        deleteDocument = try db.cachedStatement(sql: "DELETE FROM \(documents) WHERE rowid = ?")
        updateStored = try db.cachedStatement(
            sql: "UPDATE \(documents) SET position = ?, \(names.map { "\($0) = ?" }.joined(separator: ", ")) WHERE rowid = ?")
        textIndexes = spec.fields.indices.filter { !spec.fields[$0].filter }
        let textNames = textIndexes.map { names[$0] }
        insertIndex = try db.cachedStatement(
            sql: "INSERT INTO \(index)(rowid, \(textNames.joined(separator: ", "))) VALUES (?, \(textNames.map { _ in "?" }.joined(separator: ", ")))")
        deleteIndex = try db.cachedStatement(
            sql: "INSERT INTO \(index)(\(index), rowid, \(textNames.joined(separator: ", "))) VALUES ('delete', ?, \(textNames.map { _ in "?" }.joined(separator: ", ")))")
    }

    /// The stored row of a document: its rowid and field values.
    func existing(_ docID: String) throws -> (rowid: Int64, values: [String?])? {
        guard let row = try Row.fetchOne(find, arguments: [docID]) else { return nil }
        return (row[0], (0..<spec.fields.count).map { row[$0 + 1] })
    }

    func delete(_ docID: String) throws {
        guard let (rowid, values) = try existing(docID) else { return }
        try removeFromIndex(rowid, values)
        try deleteDocument.execute(arguments: [rowid])
    }

    /// Merges the fields the event carries into the document (absent fields keep their value).
    func upsert(_ docID: String, values: [String?], position: Int64) throws {
        guard let (rowid, old) = try existing(docID) else {
            try insert(docID, values, position: position)
            return
        }
        var merged = old
        for (index, value) in values.enumerated() where value != nil { merged[index] = value }
        let textChanged = textIndexes.contains { merged[$0] != old[$0] }
        if !textChanged {
            // Only filter fields (or nothing) changed: the index stays as it is.
            try updateStored.execute(arguments: StatementArguments([position] + merged.map(\.databaseValue) + [rowid]))
            return
        }
        // A changed document moves to a new rowid, so rowid order is recency order.
        try removeFromIndex(rowid, old)
        try deleteDocument.execute(arguments: [rowid])
        try insert(docID, merged, position: position)
    }

    private func insert(_ docID: String, _ values: [String?], position: Int64) throws {
        try insertDocument.execute(arguments: StatementArguments([docID, position] + values.map(\.databaseValue)))
        let rowid = db.lastInsertedRowID
        try insertIndex.execute(arguments: StatementArguments([rowid] + textIndexes.map { values[$0].databaseValue }))
    }

    private func removeFromIndex(_ rowid: Int64, _ values: [String?]) throws {
        try deleteIndex.execute(arguments: StatementArguments([rowid] + textIndexes.map { values[$0].databaseValue }))
    }
}
