import Foundation
import GRDB

/// Keeps the document sets in step with one `apply`'s writes. Documents are recorded as the
/// index is written; ``flush()`` writes the sets in the same transaction, each touched chunk
/// read, changed and written once, however many documents of the transaction touched it.
final class DocumentSetWriter {
    private let db: Database
    private let tokenizer: TextTokenizer
    private let promoter: SetPromoter
    private let textIndexes: [Int]
    private let filterFields: [(index: Int, name: String)]

    /// Per key met in this apply: its text, whether it has a set (then the rowids added, or
    /// removed as negative numbers, in order), else in how many new documents it occurs.
    private var keys: [String] = []
    private var tracked: [Bool] = []
    private var operations: [[Int64]] = []
    private var untracked: [Int] = []
    private var lastDocument: [Int] = []
    private var keyIndex: [String: Int] = [:]
    /// Per token met: its word key and its 2- and 3-letter prefix keys (-1: none).
    private var tokenKeys: [String: (word: Int, two: Int, three: Int)] = [:]
    private var document = 0
    private var touched: [Int] = []

    init?(spec: SearchSpec, promoter: SetPromoter, db: Database) {
        guard DocumentSets.supported(spec), let tokenizer = TextTokenizer(spec.tokenizer, db: db) else { return nil }
        self.db = db
        self.tokenizer = tokenizer
        self.promoter = promoter
        textIndexes = spec.fields.indices.filter { !spec.fields[$0].filter }
        filterFields = spec.fields.indices.filter { spec.fields[$0].filter }.map { ($0, spec.fields[$0].name) }
    }

    /// A document's rowid joins (or leaves) the sets of its words and prefixes (when
    /// `wholeDocument`) and of its filter values.
    func record(_ rowid: Int64, _ values: [String?], adding: Bool, wholeDocument: Bool) throws {
        document += 1
        touched.removeAll(keepingCapacity: true)
        if wholeDocument {
            touch(try index(of: DocumentSets.allKey))
            for field in textIndexes {
                guard let text = values[field] else { continue }
                for token in tokenizer.tokens(text) {
                    let entry = try tokenKeys[token] ?? entry(for: token)
                    touch(entry.word)
                    if entry.two >= 0 { touch(entry.two) }
                    if entry.three >= 0 { touch(entry.three) }
                }
            }
        }
        for (field, name) in filterFields {
            if let value = values[field] { touch(try index(of: DocumentSets.filterKey(name, value))) }
        }
        for key in touched {
            if tracked[key] {
                operations[key].append(adding ? rowid : -rowid)
            } else if adding {
                untracked[key] += 1
            }
        }
    }

    /// Writes this apply's changes: new sets for keys that became frequent, then every touched
    /// chunk of the others.
    func flush() throws {
        let seen = keys.indices.filter { !tracked[$0] && untracked[$0] > 0 }.map { (keys[$0], untracked[$0]) }
        for key in promoter.record(seen) { try build(key) }
        for key in keys.indices where tracked[key] && !operations[key].isEmpty {
            try write(keys[key], operations[key])
        }
    }

    private func touch(_ key: Int) {
        guard lastDocument[key] != document else { return }
        lastDocument[key] = document
        touched.append(key)
    }

    private func entry(for token: String) throws -> (word: Int, two: Int, three: Int) {
        let scalars = token.unicodeScalars
        let prefix = { (length: Int) in String(String.UnicodeScalarView(scalars.prefix(length))) }
        let entry = (
            word: try index(of: DocumentSets.wordKey(token)),
            two: scalars.count >= 2 ? try index(of: DocumentSets.prefixKey(prefix(2))) : -1,
            three: scalars.count >= 3 ? try index(of: DocumentSets.prefixKey(prefix(3))) : -1
        )
        tokenKeys[token] = entry
        return entry
    }

    private func index(of key: String) throws -> Int {
        if let index = keyIndex[key] { return index }
        let always = key.hasPrefix("a:") || key.hasPrefix("f:")
        keys.append(key)
        tracked.append(always ? true : try DocumentSets.documentCount(key, db: db) != nil)
        operations.append([])
        untracked.append(0)
        lastDocument.append(0)
        keyIndex[key] = keys.count - 1
        return keys.count - 1
    }

    /// A new set for a word or prefix, from the index as it stands in this transaction.
    private func build(_ key: String) throws {
        let text = String(key.dropFirst(2))
        let match = SearchQuery.quote(text) + (key.hasPrefix("p:") ? "*" : "")
        let rowids = try Int64.fetchAll(
            db, sql: "SELECT rowid FROM \(SearchProjection.index) WHERE \(SearchProjection.index) MATCH ? ORDER BY rowid",
            arguments: [match])
        let set = DocumentSet(ascending: rowids)
        for (chunk, bitmap) in zip(set.chunks, set.bitmaps) {
            try db.execute(
                sql: "INSERT INTO \(DocumentSets.table)(key, chunk, bits) VALUES (?, ?, ?)",
                arguments: [key, chunk, Data(DocumentSet.encode(bitmap))])
        }
        try db.execute(sql: "INSERT INTO \(DocumentSets.keys)(key, docs) VALUES (?, ?)", arguments: [key, rowids.count])
    }

    /// Applies one key's additions and removals, chunk by chunk, and moves its count.
    private func write(_ key: String, _ operations: [Int64]) throws {
        var byChunk: [Int64: [Int64]] = [:]
        for operation in operations { byChunk[abs(operation) >> DocumentSet.chunkShift, default: []].append(operation) }
        let read = try db.cachedStatement(sql: "SELECT bits FROM \(DocumentSets.table) WHERE key = ? AND chunk = ?")
        let save = try db.cachedStatement(sql: "INSERT OR REPLACE INTO \(DocumentSets.table)(key, chunk, bits) VALUES (?, ?, ?)")
        let delete = try db.cachedStatement(sql: "DELETE FROM \(DocumentSets.table) WHERE key = ? AND chunk = ?")
        var delta = 0
        for (chunk, changes) in byChunk {
            var bitmap = [UInt64](repeating: 0, count: DocumentSet.words)
            if let row = try Row.fetchOne(read, arguments: [key, chunk]) {
                try row.withUnsafeData(atIndex: 0) { data in
                    if let data { bitmap = data.withUnsafeBytes { DocumentSet.decode($0) } }
                }
            }
            for change in changes {
                let bit = Int(abs(change) & Int64(DocumentSet.chunkSize - 1))
                let mask: UInt64 = 1 << UInt64(bit & 63)
                let present = bitmap[bit >> 6] & mask != 0
                if change > 0, !present {
                    bitmap[bit >> 6] |= mask
                    delta += 1
                } else if change < 0, present {
                    bitmap[bit >> 6] &= ~mask
                    delta -= 1
                }
            }
            if bitmap.contains(where: { $0 != 0 }) {
                try save.execute(arguments: [key, chunk, Data(DocumentSet.encode(bitmap))])
            } else {
                try delete.execute(arguments: [key, chunk])
            }
        }
        try db.execute(
            sql: """
                INSERT INTO \(DocumentSets.keys)(key, docs) VALUES (?, ?)
                ON CONFLICT(key) DO UPDATE SET docs = docs + excluded.docs
                """,
            arguments: [key, delta])
        if key.hasPrefix("f:") {
            try db.execute(sql: "DELETE FROM \(DocumentSets.keys) WHERE key = ? AND docs <= 0", arguments: [key])
        }
    }
}
