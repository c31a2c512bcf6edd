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
/// length by ``projector_score_chunk``, the best kept in a heap. Exhaustive (no window of
/// recent documents), equal to FTS5's own bm25 for frequencies of up to 100 weight units.
enum Ranker {
    /// The best `count` candidates, best first, each with its score (`terms`: each with the idf
    /// its document frequency gives; `average`: the index's average document length).
    static func top(
        _ count: Int, of candidates: DocumentSet, terms: [(postings: Postings, idf: Double)], average: Double, spec: SearchSpec,
        db: Database
    ) throws -> [(rowid: Int64, score: Double)] {
        guard count > 0, !candidates.isEmpty else { return [] }
        let factors = Self.factors(unit: DocumentSets.impactUnit(spec))
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
                term.postings.set.bitmaps[cursors[t]].withUnsafeBufferPointer {
                    target.update(from: $0.baseAddress!, count: DocumentSet.words)
                }
                let codes = term.postings.impacts[cursors[t]]
                codes.withUnsafeBufferPointer {
                    impactBuffers[t].update(from: $0.baseAddress!, count: min(codes.count, DocumentSet.chunkSize))
                }
                bitPointers[t] = UnsafePointer(target)
                impactPointers[t] = UnsafePointer(impactBuffers[t])
            }
            candidates.bitmaps[index].withUnsafeBufferPointer { candidateBits.update(from: $0.baseAddress!, count: DocumentSet.words) }
            sqlite3_bind_int64(lengths, 1, chunk)
            let found = sqlite3_step(lengths) == SQLITE_ROW && sqlite3_column_bytes(lengths, 0) == Int32(2 * DocumentSet.chunkSize)
            // Stored little-endian, as the machines this runs on are.
            let lengthValues = found ? sqlite3_column_blob(lengths, 0)?.assumingMemoryBound(to: UInt16.self) : nil
            idf.withUnsafeBufferPointer { idfBuffer in
                projector_score_chunk(
                    chunk << DocumentSet.chunkShift, candidateBits, Int32(terms.count), bitPointers, impactPointers,
                    idfBuffer.baseAddress, factors.scaled, factors.frequency, average, lengthValues, &top)
            }
            sqlite3_reset(lengths)
        }
        projector_top_sort(&top)
        return (0..<Int(top.count)).map { (storage[$0].rowid, storage[$0].score) }
    }

    /// bm25's per-impact factors for a unit, kept: a spec has one unit.
    static func factors(unit: Double) -> (scaled: [Float], frequency: [Float]) {
        if let cached = cache.withLock({ $0[unit] }) { return cached }
        var scaled = [Float](repeating: 0, count: 256)
        var frequency = [Float](repeating: 0, count: 256)
        scaled.withUnsafeMutableBufferPointer { s in
            frequency.withUnsafeMutableBufferPointer { projector_bm25_factors(s.baseAddress, $0.baseAddress, unit) }
        }
        cache.withLock { cache in
            if cache.count > 16 { cache.removeAll() }
            cache[unit] = (scaled, frequency)
        }
        return (scaled, frequency)
    }

    private static let cache = Mutex<[Double: (scaled: [Float], frequency: [Float])]>([:])
}
