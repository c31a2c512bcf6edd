/// The documents a pair without a set was seen in since it was first counted: every document
/// from rowid `from` on was written since (a rewritten document moves to a new rowid) and seen,
/// its words being frequent for good (``KeyTable/isFrequent(_:)``). With FTS5's phrase listing
/// below `from`, that is the pair's set, without walking both words' doclists to their end:
/// building the pair sets of 1M documents took about 13 s from FTS5 alone, 1 s this way. Kept only
/// while the store changes through this table: it is handed back at commit, and dropped when
/// another connection wrote the store.
struct PairRows: Sendable {
    let from: Int64
    var rows: [Int64] = []
    /// Each row's impact code (the pair's column-weighted frequency in it).
    var impacts: [UInt8] = []

    /// Returns how many documents are seen now.
    mutating func add(_ rowid: Int64, impact: UInt8) -> Int {
        rows.append(rowid)
        impacts.append(impact)
        return rows.count
    }

    mutating func remove(_ rowid: Int64) {
        guard let index = rows.lastIndex(of: rowid) else { return }
        rows.swapAt(index, rows.count - 1)
        rows.removeLast()
        impacts.swapAt(index, impacts.count - 1)
        impacts.removeLast()
    }
}
