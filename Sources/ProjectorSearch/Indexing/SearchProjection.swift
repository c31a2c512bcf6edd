import Dispatch
public import GRDB
public import ProjectorCore

/// A search index projection from a ``SearchSpec``: a documents table with the current field
/// values, an external-content FTS5 index over the text fields, and an fts5vocab view for typo
/// suggestions. Written in the host's transaction, with the checkpoint: never stale, never
/// drifting from its documents.
public struct SearchProjection: Projection, SearchIndexed {
    public let spec: SearchSpec
    public var name: String { spec.name }
    public var kind: ProjectionKindName { .search }
    public let fingerprint: String
    /// A partitioned index also takes the tenant purge event.
    public var eventTypes: Set<String>? {
        guard spec.tenant != nil else { return spec.eventTypes }
        return spec.eventTypes?.union([TenantPurge.type])
    }
    public var errorPolicy: ErrorPolicy { spec.errorPolicy }
    public var definition: String? { spec.source }
    public var searchSpec: SearchSpec? { spec }
    /// The set writer's memory between transactions (see ``DocumentSets``).
    let catalog: SetCatalog

    /// Table names inside the projection's own store.
    public static let documents = "documents"
    public static let index = "documents_fts"
    public static let vocabulary = "documents_vocab"

    /// Private-use characters that mark matches in snippets; stripped from indexed text.
    static let markOpen: Character = "\u{E000}"
    static let markClose: Character = "\u{E001}"

    public init(spec: SearchSpec) {
        self.init(spec: spec, catalog: SetCatalog())
    }

    init(spec: SearchSpec, catalog: SetCatalog) {
        self.spec = spec
        self.catalog = catalog
        fingerprint = Fingerprint.of(Self.canonical(spec))
    }

    static func canonical(_ spec: SearchSpec) -> String {
        // search/7: impacts and lengths for bm25 over the sets; search/5: no FTS5 prefix indexes,
        // open filter fields. Older stores rebuild themselves.
        var parts = ["search/7", spec.name, "id=\(spec.id)", "tokenizer=\(spec.tokenizer.rawValue)"]
        parts.append("events=" + (spec.eventTypes.map { $0.sorted().joined(separator: ",") } ?? "*"))
        parts.append("delete=" + spec.deleteTypes.sorted().joined(separator: ","))
        parts.append("tieBreak=" + (spec.tieBreak ?? ""))
        if let tenant = spec.tenant { parts.append("tenant=\(tenant)") }
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

    public func setUp(_ db: Database) throws {
        let columns = spec.fields.map { "\($0.name.quotedDatabaseIdentifier) TEXT" }.joined(separator: ", ")
        try db.execute(
            sql: """
                CREATE TABLE \(Self.documents)(
                    rowid INTEGER PRIMARY KEY, doc_id TEXT NOT NULL UNIQUE, position INTEGER NOT NULL, \(columns))
                """)
        for field in spec.filterFields {
            try db.execute(
                sql:
                    "CREATE INDEX \("documents_by_\(field.name)".quotedDatabaseIdentifier) ON \(Self.documents)(\(field.name.quotedDatabaseIdentifier))"
            )
        }
        // Exact-name matches are looked up by the heaviest text field, whatever the rank window.
        let primary = spec.textFields[0].name
        try db.execute(
            sql: "CREATE INDEX documents_name ON \(Self.documents)(\(primary.quotedDatabaseIdentifier) COLLATE NOCASE)")
        // A filter field is indexed already.
        if let tieBreak = spec.tieBreak, !spec.filterFields.contains(where: { $0.name == tieBreak }) {
            try db.execute(sql: "CREATE INDEX documents_tiebreak ON \(Self.documents)(\(tieBreak.quotedDatabaseIdentifier))")
        }
        let textColumns = spec.textFields.map { $0.name.quotedDatabaseIdentifier }.joined(separator: ", ")
        try db.execute(
            sql: """
                CREATE VIRTUAL TABLE \(Self.index) USING fts5(\(textColumns), content='\(Self.documents)', \
                content_rowid='rowid', tokenize='\(tokenizeOption)')
                """)
        try db.execute(sql: "CREATE VIRTUAL TABLE \(Self.vocabulary) USING fts5vocab(\(Self.index), row)")
        if DocumentSets.supported(spec) { try DocumentSets.setUp(db) }
    }

    /// The host checks the FTS5 index and counts the tables; the document sets are checked here
    /// against what they summarize (see ``DocumentSets/verify(spec:db:)``).
    public func verify(_ db: Database) throws {
        if DocumentSets.supported(spec) { try DocumentSets.verify(spec: spec, db: db) }
    }

    public func apply(_ events: [RecordedEvent], _ db: Database) throws {
        let sets = try DocumentSetWriter(spec: spec, catalog: catalog, db: db)
        let writer = try DocumentWriter(spec: spec, sets: sets, db: db)
        let paths = JSONPathList(spec.fields.map(\.path))
        // The preparing thread also maps each document's text to its set keys, then records the
        // documents the writer hands it (their rowids are known once written).
        let keys = sets?.keys
        try DocumentPipeline.forEach(
            events, on: keys?.queue ?? DispatchQueue(label: "projector.search.prepare"),
            prepare: { change(for: $0, paths: paths, keys: keys) }, afterChunk: { sets?.handOff() }
        ) { change in
            switch change {
            case .delete(let docID): try writer.delete(docID)
            case .purge(let tenant): try writer.purge(tenant)
            case .upsert(let docID, let values, let keys, let position):
                try writer.upsert(docID, values: values, keys: keys, position: position)
            }
        }
        try writer.flushIndex()
        try sets?.flush()
    }

    /// What one event does to the index: the field values it carries, as indexed text, and
    /// (given the key table) the numbers of the set keys they make.
    func change(for event: RecordedEvent, paths: JSONPathList, keys: DocumentKeys? = nil) -> DocumentChange? {
        // Only a partitioned index knows its documents' tenants.
        if event.type == TenantPurge.type { return spec.tenant == nil ? nil : event.tenant.map { .purge($0) } }
        var tenant: String?
        if let path = spec.tenant {
            // A document belongs to one tenant: an event naming none has no place here.
            guard let value = path.value(in: event), !value.isEmpty else { return nil }
            tenant = value
        }
        guard let id = spec.id.value(in: event), !id.isEmpty else { return nil }
        let docID = spec.documentKey(id, tenant: tenant)
        if spec.deleteTypes.contains(event.type) { return .delete(docID) }
        var values = paths.values(in: event)
        for (index, field) in spec.fields.enumerated() {
            guard let raw = values[index] else { continue }
            values[index] = Self.sanitize(field.format == .html ? HTMLText.text(raw) : raw)
        }
        return .upsert(docID, values, keys: keys?.numbers(of: values), position: event.position)
    }

    /// Removes control characters (but line breaks and tabs) and the highlight markers.
    static func sanitize(_ text: String) -> String {
        // The common case, checked on the UTF-8 bytes: no control byte but line breaks and tabs,
        // and no lead byte of U+E000...U+EFFF (the markers are EE 80 80 and EE 80 81).
        let needsWork = { (byte: UInt8) in (byte < 0x20 && byte != 0x0A && byte != 0x09) || byte == 0x7F || byte == 0xEE }
        let clean = text.utf8.withContiguousStorageIfAvailable { !$0.contains(where: needsWork) } ?? !text.utf8.contains(where: needsWork)
        if clean { return text }
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

/// What one event does to a search index.
enum DocumentChange: Sendable {
    case delete(String)
    /// Every document of a tenant goes.
    case purge(String)
    /// The fields the event carries (nil: absent, the stored value stays), and the numbers of
    /// the set keys they make, when mapped in advance.
    case upsert(String, [String?], keys: MappedKeys?, position: Int64)
}

extension ProjectionKindName {
    /// An FTS5 index with document sets (`kind: search`).
    public static let search: Self = "search"
}
