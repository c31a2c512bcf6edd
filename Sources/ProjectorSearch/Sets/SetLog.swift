/// One transaction's set operations, in the order they were made: a large transaction makes
/// millions, so each is kept as its key and impact code (0 for a removal), and the documents
/// they belong to are listed apart.
struct SetLog {
    private var keys: [Int32] = []
    private var impacts: [UInt8] = []
    /// Each document with operations: its rowid, whether it joined or left its keys' sets, and
    /// where its operations end.
    private var documents: [(rowid: Int64, adding: Bool, end: Int)] = []

    /// Logs the current document's operation on a key.
    mutating func append(_ key: Int, impact: UInt8) {
        keys.append(Int32(key))
        impacts.append(impact)
    }

    /// Closes the operations logged since the last document as this document's.
    mutating func endDocument(_ rowid: Int64, adding: Bool) {
        if keys.count > (documents.last?.end ?? 0) { documents.append((rowid, adding, keys.count)) }
    }

    /// The operations of the keys `included` allows, grouped by key, each key's in their order.
    func grouped(keyCount: Int, including included: (Int) -> Bool) -> Grouped {
        var starts = [Int32](repeating: 0, count: keyCount + 1)
        for key in keys where included(Int(key)) { starts[Int(key) + 1] += 1 }
        for key in 0..<keyCount { starts[key + 1] += starts[key] }
        let count = Int(starts[keyCount])
        var entries = [UInt32](repeating: 0, count: count)
        var entryImpacts = [UInt8](repeating: 0, count: count)
        var next = starts
        var operation = 0
        for (index, document) in documents.enumerated() {
            while operation < document.end {
                let key = Int(keys[operation])
                if included(key) {
                    entries[Int(next[key])] = UInt32(index)
                    entryImpacts[Int(next[key])] = impacts[operation]
                    next[key] += 1
                }
                operation += 1
            }
        }
        return Grouped(
            starts: starts, documents: entries, impacts: entryImpacts, rowids: documents.map { $0.adding ? $0.rowid : -$0.rowid })
    }

    /// Operations grouped by key: per key a range of `documents` (each operation's document, by
    /// index into `rowids`) and of `impacts`.
    struct Grouped {
        let starts: [Int32]
        let documents: [UInt32]
        let impacts: [UInt8]
        /// Each document's rowid, negative when it left its keys' sets.
        let rowids: [Int64]

        /// Where a key's operations are (empty when it has none).
        func range(of key: Int) -> Range<Int> { Int(starts[key])..<Int(starts[key + 1]) }

        /// The operations as ``SetOperation``s.
        func operations(_ range: Range<Int>) -> [Int64] {
            range.map { SetOperation.pack(rowids[Int(documents[$0])], impact: impacts[$0]) }
        }

        /// The chunk all these operations' rowids are in, or nil when they span several.
        func soleChunk(_ range: Range<Int>) -> Int64? {
            let chunk = { (index: Int) in abs(self.rowids[Int(self.documents[index])]) >> DocumentSet.chunkShift }
            let first = chunk(range.lowerBound)
            return range.allSatisfy { chunk($0) == first } ? first : nil
        }
    }
}
