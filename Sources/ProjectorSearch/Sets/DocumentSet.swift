/// A set of document rowids: the documents a word, a prefix or a filter value occurs in.
///
/// Rowids are grouped in chunks of 16,384. In memory each chunk is a bitmap (256 words, 2 KB), so
/// intersections and counts are word-wise ANDs and popcounts: a term in every one of 1M documents
/// is 62 chunks. On disk a chunk is a sorted list of 16-bit offsets while that is smaller (up to
/// 1,023 of them), else the bitmap: the containers of a Roaring bitmap, without run containers.
struct DocumentSet: Sendable, Equatable {
    static let chunkShift = 14
    static let chunkSize = 1 << chunkShift
    static let words = chunkSize / 64
    static let bitmapBytes = words * 8
    static let maxListed = bitmapBytes / 2 - 1

    /// Chunk numbers (rowid >> 14), ascending, and their bitmaps (never all zero).
    private(set) var chunks: [Int64] = []
    private(set) var bitmaps: [[UInt64]] = []
    /// Kept as chunks are added: a query asks for counts several times, and a popcount over a
    /// term in most of 1M documents is 62 × 256 words.
    private(set) var count = 0

    init() {}

    /// From rowids in ascending order.
    init(ascending rowids: some Sequence<Int64>) {
        for rowid in rowids {
            let chunk = rowid >> Self.chunkShift
            if chunks.last != chunk {
                chunks.append(chunk)
                bitmaps.append([UInt64](repeating: 0, count: Self.words))
            }
            let bit = Int(rowid & Int64(Self.chunkSize - 1))
            let mask: UInt64 = 1 << UInt64(bit & 63)
            if bitmaps[bitmaps.count - 1][bit >> 6] & mask == 0 { count += 1 }
            bitmaps[bitmaps.count - 1][bit >> 6] |= mask
        }
    }

    /// Adds a stored chunk; chunks must come in ascending order.
    mutating func append(chunk: Int64, container: UnsafeRawBufferPointer) {
        add(chunk, Self.decode(container))
    }

    var isEmpty: Bool { chunks.isEmpty }

    func contains(_ rowid: Int64) -> Bool {
        guard let index = index(of: rowid >> Self.chunkShift) else { return false }
        let bit = Int(rowid & Int64(Self.chunkSize - 1))
        return bitmaps[index][bit >> 6] & (1 << UInt64(bit & 63)) != 0
    }

    func intersection(_ other: DocumentSet) -> DocumentSet {
        var result = DocumentSet()
        var i = 0
        var j = 0
        while i < chunks.count, j < other.chunks.count {
            if chunks[i] < other.chunks[j] {
                i += 1
            } else if chunks[i] > other.chunks[j] {
                j += 1
            } else {
                result.add(chunks[i], Self.combine(bitmaps[i], other.bitmaps[j], &))
                i += 1
                j += 1
            }
        }
        return result
    }

    func intersectionCount(_ other: DocumentSet) -> Int { intersection(other).count }

    func union(_ other: DocumentSet) -> DocumentSet {
        var result = DocumentSet()
        var i = 0
        var j = 0
        while i < chunks.count || j < other.chunks.count {
            if j == other.chunks.count || (i < chunks.count && chunks[i] < other.chunks[j]) {
                result.add(chunks[i], bitmaps[i])
                i += 1
            } else if i == chunks.count || chunks[i] > other.chunks[j] {
                result.add(other.chunks[j], other.bitmaps[j])
                j += 1
            } else {
                result.add(chunks[i], Self.combine(bitmaps[i], other.bitmaps[j], |))
                i += 1
                j += 1
            }
        }
        return result
    }

    func subtracting(_ other: DocumentSet) -> DocumentSet {
        var result = DocumentSet()
        var j = 0
        for i in chunks.indices {
            while j < other.chunks.count, other.chunks[j] < chunks[i] { j += 1 }
            if j < other.chunks.count, other.chunks[j] == chunks[i] {
                result.add(chunks[i], Self.combine(bitmaps[i], other.bitmaps[j]) { $0 & ~$1 })
            } else {
                result.add(chunks[i], bitmaps[i])
            }
        }
        return result
    }

    /// Up to `limit` rowids, highest (newest) first, after skipping the `offset` highest.
    func newest(_ limit: Int, skipping offset: Int = 0) -> [Int64] {
        var result: [Int64] = []
        guard limit > 0 else { return result }
        var skip = offset
        for index in chunks.indices.reversed() {
            let bitmap = bitmaps[index]
            let population = Self.population(bitmap)
            if skip >= population {
                skip -= population
                continue
            }
            let base = chunks[index] << Self.chunkShift
            for word in (0..<Self.words).reversed() where bitmap[word] != 0 {
                var bits = bitmap[word]
                while bits != 0 {
                    let bit = 63 - bits.leadingZeroBitCount
                    bits &= ~(1 << UInt64(bit))
                    if skip > 0 {
                        skip -= 1
                        continue
                    }
                    result.append(base + Int64(word * 64 + bit))
                    if result.count == limit { return result }
                }
            }
        }
        return result
    }

    private mutating func add(_ chunk: Int64, _ bitmap: [UInt64]) {
        let population = Self.population(bitmap)
        guard population > 0 else { return }
        chunks.append(chunk)
        bitmaps.append(bitmap)
        count += population
    }

    private func index(of chunk: Int64) -> Int? {
        var low = 0
        var high = chunks.count
        while low < high {
            let middle = (low + high) / 2
            if chunks[middle] < chunk { low = middle + 1 } else { high = middle }
        }
        return low < chunks.count && chunks[low] == chunk ? low : nil
    }

    private static func combine(_ a: [UInt64], _ b: [UInt64], _ operation: (UInt64, UInt64) -> UInt64) -> [UInt64] {
        var result = [UInt64](repeating: 0, count: words)
        for word in 0..<words { result[word] = operation(a[word], b[word]) }
        return result
    }

    static func population(_ bitmap: [UInt64]) -> Int {
        bitmap.reduce(0) { $0 + $1.nonzeroBitCount }
    }

    // MARK: Stored containers

    /// A chunk as stored: sorted little-endian 16-bit offsets, or the 2 KB bitmap when smaller.
    static func encode(_ bitmap: [UInt64]) -> [UInt8] {
        let population = population(bitmap)
        if population > maxListed {
            // Little-endian words, copied as they lie in memory (every platform Swift runs
            // this on is little-endian).
            return bitmap.withUnsafeBytes { Array($0) }
        }
        return [UInt8](unsafeUninitializedCapacity: population * 2) { bytes, count in
            forEachMember(of: bitmap) { offset in
                bytes[count] = UInt8(truncatingIfNeeded: offset)
                bytes[count &+ 1] = UInt8(truncatingIfNeeded: offset >> 8)
                count &+= 2
            }
        }
    }

    /// Calls `body` with each member's offset, ascending.
    @inline(__always)
    static func forEachMember(of bitmap: [UInt64], _ body: (Int) -> Void) {
        precondition(bitmap.count == words)
        bitmap.withUnsafeBufferPointer { bitmap in
            for word in 0..<words where bitmap[word] != 0 {
                var bits = bitmap[word]
                while bits != 0 {
                    body(word &* 64 &+ bits.trailingZeroBitCount)
                    bits &= bits &- 1
                }
            }
        }
    }

    /// The stored container with `additions` (rowids of this chunk, ascending) added, without
    /// decoding it: offsets appended to a list, bits set in a bitmap. nil when that would not
    /// give what ``encode(_:)`` gives (an addition not past a list's last offset, or a list that
    /// outgrows ``maxListed``). A transaction's new documents have the newest rowids, so this is
    /// how most of its chunk writes go.
    static func appending(_ additions: [Int64], to stored: UnsafeRawBufferPointer) -> [UInt8]? {
        if stored.count == bitmapBytes {
            var bytes = Array(stored)
            for rowid in additions {
                let bit = Int(rowid & Int64(chunkSize - 1))
                bytes[bit >> 3] |= 1 << UInt8(bit & 7)
            }
            return bytes
        }
        guard stored.count / 2 + additions.count <= maxListed else { return nil }
        var bytes = Array(stored)
        var last = stored.count >= 2 ? Int(stored[stored.count - 2]) | Int(stored[stored.count - 1]) << 8 : -1
        bytes.reserveCapacity(stored.count + additions.count * 2)
        for rowid in additions {
            let offset = Int(rowid & Int64(chunkSize - 1))
            guard offset > last else { return nil }
            last = offset
            bytes.append(UInt8(offset & 0xFF))
            bytes.append(UInt8(offset >> 8))
        }
        return bytes
    }

    /// The highest offset a stored container holds, -1 for none.
    static func lastOffset(_ bytes: UnsafeRawBufferPointer) -> Int {
        if bytes.count == bitmapBytes {
            for word in (0..<words).reversed() {
                let value = bytes.loadUnaligned(fromByteOffset: word * 8, as: UInt64.self)
                if value != 0 { return word * 64 + 63 - value.leadingZeroBitCount }
            }
            return -1
        }
        guard bytes.count >= 2 else { return -1 }
        return Int(bytes[bytes.count - 2]) | Int(bytes[bytes.count - 1]) << 8
    }

    /// Members' values in member order, spread to one per offset (0 where no member is).
    static func spread(_ values: [UInt8], over bitmap: [UInt64]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: chunkSize) { dense, count in
            dense.initialize(repeating: 0)
            count = chunkSize
            values.withUnsafeBufferPointer { values in
                var index = 0
                forEachMember(of: bitmap) { offset in
                    guard index < values.count else { return }
                    dense[offset] = values[index]
                    index &+= 1
                }
            }
        }
    }

    /// The values at the members' offsets, in member order.
    static func gather(_ dense: [UInt8], over bitmap: [UInt64]) -> [UInt8] {
        precondition(dense.count == chunkSize)
        return [UInt8](unsafeUninitializedCapacity: population(bitmap)) { values, count in
            dense.withUnsafeBufferPointer { dense in
                forEachMember(of: bitmap) { offset in
                    values[count] = dense[offset]
                    count &+= 1
                }
            }
        }
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) -> [UInt64] {
        var bitmap = [UInt64](repeating: 0, count: words)
        if bytes.count == bitmapBytes {
            bitmap.withUnsafeMutableBytes { $0.copyMemory(from: bytes) }
        } else {
            var index = 0
            while index + 1 < bytes.count {
                let offset = Int(bytes[index]) | Int(bytes[index + 1]) << 8
                bitmap[offset >> 6] |= 1 << UInt64(offset & 63)
                index += 2
            }
        }
        return bitmap
    }
}
