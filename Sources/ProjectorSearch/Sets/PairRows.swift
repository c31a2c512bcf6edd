/// The documents a pair without a set was seen in since it was first counted: every document
/// from rowid `from` on was written since (a rewritten document moves to a new rowid) and seen,
/// its words' classes being for good (``KeyTable/classes(_:)``). With FTS5's phrase listing
/// below `from`, that is the pair's set, without walking both words' doclists to their end:
/// building the pair sets of 1M documents took about 13 s from FTS5 alone, 1 s this way. Kept only
/// while the store changes through this table: it is handed back at commit, and dropped when
/// another connection wrote the store.
struct PairRows: Sendable {
    let from: Int64
    /// Each row with its impact code (the pair's column-weighted frequency in it) in the low
    /// byte: one array, as most pairs are seen in a few dozen documents and never get a set.
    private var entries: [Int64] = []

    init(from: Int64) { self.from = from }

    var count: Int { entries.count }
    var members: [(rowid: Int64, impact: UInt8)] { entries.map { ($0 >> 8, UInt8(truncatingIfNeeded: $0)) } }

    /// Returns how many documents are seen now.
    mutating func add(_ rowid: Int64, impact: UInt8) -> Int {
        entries.append(rowid << 8 | Int64(impact))
        return entries.count
    }

    mutating func remove(_ rowid: Int64) {
        guard let index = entries.lastIndex(where: { $0 >> 8 == rowid }) else { return }
        entries.swapAt(index, entries.count - 1)
        entries.removeLast()
    }
}
