/// One transaction's set operations, in the order they were made: a large transaction makes
/// millions, so each is kept as its key and impact code (0 for a removal), and the documents
/// they belong to are listed apart.
struct SetLog {
    var keys: [Int32] = []
    var impacts: [UInt8] = []
    /// Each document with operations: its rowid, whether it joined or left its keys' sets, and
    /// where its operations end.
    private(set) var documents: [(rowid: Int64, adding: Bool, end: Int32)] = []

    /// Closes the operations logged since the last document as this document's.
    mutating func endDocument(_ rowid: Int64, adding: Bool) {
        let end = Int32(keys.count)
        if end > (documents.last?.end ?? 0) { documents.append((rowid, adding, end)) }
    }

    /// The operations of the keys `included` allows, grouped by key, each key's in their order.
    func grouped(keyCount: Int, including included: (Int) -> Bool) -> Grouped {
        precondition(documents.count < 1 << 24)
        var starts = [Int32](repeating: 0, count: keyCount + 1)
        for key in keys where included(Int(key)) { starts[Int(key) + 1] += 1 }
        for key in 0..<keyCount { starts[key + 1] += starts[key] }
        var entries = [UInt32](repeating: 0, count: Int(starts[keyCount]))
        var next = starts
        var operation = 0
        for (index, document) in documents.enumerated() {
            while operation < document.end {
                let key = Int(keys[operation])
                if included(key) {
                    entries[Int(next[key])] = UInt32(index) << 8 | UInt32(impacts[operation])
                    next[key] += 1
                }
                operation += 1
            }
        }
        return Grouped(starts: starts, entries: entries, documents: documents.map { ($0.rowid, $0.adding) })
    }

    /// Operations grouped by key: per key, a range of `entries`, each its document's index and
    /// its impact code (`document << 8 | impact`).
    struct Grouped {
        let starts: [Int32]
        let entries: [UInt32]
        let documents: [(rowid: Int64, adding: Bool)]

        /// Where a key's operations are in `entries` (empty when it has none).
        func range(of key: Int) -> Range<Int> { Int(starts[key])..<Int(starts[key + 1]) }

        /// The operations as ``SetOperation``s.
        func operations(_ range: Range<Int>) -> [Int64] {
            entries[range].map { entry in
                let document = documents[Int(entry >> 8)]
                return SetOperation.pack(document.adding ? document.rowid : -document.rowid, impact: UInt8(entry & 0xFF))
            }
        }

        /// The chunk all these operations' rowids are in, or nil when they span several.
        func soleChunk(_ range: Range<Int>) -> Int64? {
            let chunk = { (entry: UInt32) in self.documents[Int(entry >> 8)].rowid >> DocumentSet.chunkShift }
            let first = chunk(entries[range.lowerBound])
            return entries[range].allSatisfy { chunk($0) == first } ? first : nil
        }
    }
}
