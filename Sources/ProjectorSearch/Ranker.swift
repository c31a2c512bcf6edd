import CFTS5
import GRDB
import GRDBSQLite
import Synchronization

/// A term's documents with each one's impact code (its column-weighted frequency, quantized):
/// what ranking reads for it.
struct Postings {
    var set: DocumentSet
    /// Per chunk of `set`, in the same order: the chunk's members' impact codes, member order.
    var impacts: [[UInt8]]

    /// From a listing in rowid order.
    init(ascending members: [(rowid: Int64, impact: UInt8)]) {
        set = DocumentSet(ascending: members.map(\.rowid))
        impacts = []
        var last: Int64 = -1
        for member in members {
            let chunk = member.rowid >> DocumentSet.chunkShift
            if chunk != last {
                impacts.append([])
                last = chunk
            }
            impacts[impacts.count - 1].append(member.impact)
        }
    }

    init(set: DocumentSet, impacts: [[UInt8]]) {
        self.set = set
        self.impacts = impacts
    }
}

/// bm25 top-k over document sets: every candidate scored from its terms' impacts and its
/// length code by ``projector_score_chunk``, the best kept in a heap. Exhaustive (no window of
/// recent documents), within a few percent of FTS5's own bm25 (the codes' steps).
enum Ranker {
    /// The best `count` candidates, best first, each with its score (`terms`: each with the idf
    /// its document frequency gives).
    static func top(
        _ count: Int, of candidates: DocumentSet, terms: [(postings: Postings, idf: Double)], spec: SearchSpec, db: Database
    ) throws -> [(rowid: Int64, score: Double)] {
        guard count > 0, !candidates.isEmpty else { return [] }
        let table = try bm25Table(spec: spec, db: db)
        let lengths = try db.cachedStatement(sql: "SELECT lengths FROM \(DocumentSets.lengths) WHERE chunk = ?").sqliteStatement
        let storage = UnsafeMutablePointer<projector_hit>.allocate(capacity: count)
        defer { storage.deallocate() }
        var top = projector_top(hits: storage, count: 0, capacity: Int32(count))
        // Where each term stands in its own chunks as the candidates' chunks go by.
        var cursors = [Int](repeating: 0, count: terms.count)
        let idf = terms.map(\.idf)
        // Per chunk, each term's bits and impacts copied where C can read them.
        let bits = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, terms.count) * DocumentSet.words)
        let bitPointers = UnsafeMutablePointer<UnsafePointer<UInt64>?>.allocate(capacity: max(1, terms.count))
        let impactPointers = UnsafeMutablePointer<UnsafePointer<UInt8>?>.allocate(capacity: max(1, terms.count))
        let impactBuffers = (0..<terms.count).map { _ in UnsafeMutablePointer<UInt8>.allocate(capacity: DocumentSet.chunkSize) }
        let candidateBits = UnsafeMutablePointer<UInt64>.allocate(capacity: DocumentSet.words)
        defer {
            bits.deallocate()
            bitPointers.deallocate()
            impactPointers.deallocate()
            impactBuffers.forEach { $0.deallocate() }
            candidateBits.deallocate()
        }
        for (index, chunk) in candidates.chunks.enumerated() {
            for (t, term) in terms.enumerated() {
                let chunks = term.postings.set.chunks
                while cursors[t] < chunks.count, chunks[cursors[t]] < chunk { cursors[t] += 1 }
                guard cursors[t] < chunks.count, chunks[cursors[t]] == chunk else {
                    bitPointers[t] = nil
                    impactPointers[t] = nil
                    continue
                }
                let target = bits + t * DocumentSet.words
                term.postings.set.bitmaps[cursors[t]].withUnsafeBufferPointer { target.update(from: $0.baseAddress!, count: DocumentSet.words) }
                let codes = term.postings.impacts[cursors[t]]
                codes.withUnsafeBufferPointer { impactBuffers[t].update(from: $0.baseAddress!, count: min(codes.count, DocumentSet.chunkSize)) }
                bitPointers[t] = UnsafePointer(target)
                impactPointers[t] = UnsafePointer(impactBuffers[t])
            }
            candidates.bitmaps[index].withUnsafeBufferPointer { candidateBits.update(from: $0.baseAddress!, count: DocumentSet.words) }
            sqlite3_bind_int64(lengths, 1, chunk)
            let found = sqlite3_step(lengths) == SQLITE_ROW && sqlite3_column_bytes(lengths, 0) == Int32(DocumentSet.chunkSize)
            let lengthCodes = found ? sqlite3_column_blob(lengths, 0)?.assumingMemoryBound(to: UInt8.self) : nil
            idf.withUnsafeBufferPointer { idfBuffer in
                table.withUnsafeBufferPointer { tableBuffer in
                    projector_score_chunk(
                        chunk << DocumentSet.chunkShift, candidateBits, Int32(terms.count), bitPointers, impactPointers,
                        idfBuffer.baseAddress, tableBuffer.baseAddress, lengthCodes, &top)
                }
            }
            sqlite3_reset(lengths)
        }
        projector_top_sort(&top)
        return (0..<Int(top.count)).map { (storage[$0].rowid, storage[$0].score) }
    }

    /// The bm25 term factors for this index's lightest weight and average length, kept while
    /// they hold (the average moves a little with every transaction).
    static func bm25Table(spec: SearchSpec, db: Database) throws -> [Float] {
        let base = DocumentSets.impactBase(spec)
        // Rounded to 1/1000: a table is rebuilt when the average moves by a permille.
        let average = (try DocumentSets.averageLength(db) * 1000).rounded() / 1000
        if let cached = tables.withLock({ $0[TableKey(base: base, average: average)] }) { return cached }
        var table = [Float](repeating: 0, count: 65_536)
        table.withUnsafeMutableBufferPointer { projector_bm25_table($0.baseAddress, base, average) }
        tables.withLock { tables in
            if tables.count > 16 { tables.removeAll() }
            tables[TableKey(base: base, average: average)] = table
        }
        return table
    }

    private struct TableKey: Hashable {
        let base: Double
        let average: Double
    }

    private static let tables = Mutex<[TableKey: [Float]]>([:])
}
