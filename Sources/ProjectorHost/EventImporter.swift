public import Foundation
public import ProjectorCore

/// Imports NDJSON event lines into a log: the engine behind `projector import` and the sample.
///
/// Good lines are appended in batches (one transaction each); a bad line is reported with its
/// line number and skipped, never taking good lines with it. Lines carrying an `id` are
/// idempotent by that id. A line without one gets an id derived from its own bytes chained with
/// the id-less lines before it in the same input, so importing the same file (or a longer
/// version of it) again adds nothing, while identical lines elsewhere in a file stay distinct.
public struct EventImporter: Sendable {
    public struct Progress: Sendable {
        public var bytesRead: Int64 = 0
        public var totalBytes: Int64?
        public var lines = 0
        public var appended = 0
        public var duplicates = 0
        public var rejected = 0
    }

    /// A rejected line.
    public struct LineError: Error, Sendable, CustomStringConvertible {
        public let line: Int
        public let error: ProjectorError
        public var description: String { "line \(line): \(error.message)" }
    }

    public let log: any EventLog
    public let batchSize: Int

    public init(log: any EventLog, batchSize: Int = 2000) {
        self.log = log
        self.batchSize = batchSize
    }

    /// Imports every line from `handle`; `onError` sees each bad line, `onProgress` each batch.
    ///
    /// Reading and parsing run in one task while the previous batch is written in another, so
    /// on two cores the JSON work hides behind SQLite's.
    public func importLines(
        from handle: FileHandle, totalBytes: Int64? = nil,
        onError: @escaping @Sendable (LineError) -> Void = { _ in },
        onProgress: @escaping @Sendable (Progress) -> Void = { _ in }
    ) async throws -> Progress {
        let (batches, continuation) = AsyncThrowingStream.makeStream(
            of: ParsedBatch.self, bufferingPolicy: .unbounded)
        let batchSize = self.batchSize
        let fd = handle.fileDescriptor
        let limiter = BatchLimiter(limit: 2)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    var reader = LineReader(fd: fd)
                    var chain = IDChain()
                    var batch = ParsedBatch()
                    batch.events.reserveCapacity(batchSize)
                    while let (number, result) = try reader.nextLine({ bytes in Self.parse(bytes, chain: &chain) }) {
                        batch.lines = number
                        switch result {
                        case nil: break  // blank line
                        case .success(let event)?: batch.events.append((number, event))
                        case .failure(let error)?: batch.errors.append(LineError(line: number, error: error))
                        }
                        if batch.events.count >= batchSize {
                            batch.bytesRead = reader.bytesConsumed
                            await limiter.acquire()
                            continuation.yield(batch)
                            batch = ParsedBatch()
                            batch.events.reserveCapacity(batchSize)
                        }
                    }
                    batch.bytesRead = reader.bytesConsumed
                    await limiter.acquire()
                    continuation.yield(batch)
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            var progress = Progress(totalBytes: totalBytes)
            for try await batch in batches {
                await limiter.release()
                // Errors of a batch's parse come in line order with its append errors.
                var errors = batch.errors
                if !batch.events.isEmpty {
                    let outcomes = try await log.appendEach(batch.events.map(\.event))
                    for (index, outcome) in outcomes.enumerated() {
                        switch outcome {
                        case .appended: progress.appended += 1
                        case .duplicate: progress.duplicates += 1
                        case .rejected(let error): errors.append(LineError(line: batch.events[index].line, error: error))
                        }
                    }
                }
                progress.rejected += errors.count
                for error in errors.sorted(by: { $0.line < $1.line }) { onError(error) }
                progress.lines = max(progress.lines, batch.lines)
                progress.bytesRead = batch.bytesRead
                onProgress(progress)
            }
            try await group.waitForAll()
            return progress
        }
    }

    /// Lines parsed by the reading task, waiting to be appended.
    struct ParsedBatch: Sendable {
        var events: [(line: Int, event: ProposedEvent)] = []
        var errors: [LineError] = []
        var lines = 0
        var bytesRead: Int64 = 0
    }

    /// Parses one line; nil for a blank line.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, chain: inout IDChain) -> Result<ProposedEvent, ProjectorError>? {
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0x0D || bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        var start = 0
        // A byte-order mark (editors on Windows write one at the top of a file) is not content.
        if end >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        if start == end { return nil }
        let line = UnsafeBufferPointer(rebasing: bytes[start..<end])
        guard Self.isValidUTF8(line) else {
            return .failure(ProjectorError(.invalidLine, "not valid UTF-8"))
        }
        do {
            var event = try EventLineParser.parse(line)
            if event.id == nil { event.id = chain.next(line) }
            return .success(event)
        } catch {
            return .failure(error)
        }
    }

    static func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        // Most lines are ASCII: check that first, validate properly only otherwise.
        if !bytes.contains(where: { $0 >= 0x80 }) { return true }
        return String(validating: bytes, as: UTF8.self) != nil
    }
}

/// Keeps the parser at most `limit` batches ahead of the writer, so memory stays flat.
actor BatchLimiter {
    private let limit: Int
    private var inFlight = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = limit }

    func acquire() async {
        if inFlight < limit {
            inFlight += 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty {
            inFlight -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}

/// Deterministic ids for lines without one: a 128-bit FNV-1a chain over the id-less lines.
struct IDChain {
    private var high: UInt64 = 0xcbf2_9ce4_8422_2325
    private var low: UInt64 = 0x8422_2325_cbf2_9ce4

    mutating func next(_ line: UnsafeBufferPointer<UInt8>) -> UUID {
        let prime: UInt64 = 0x0000_0100_0000_01b3
        for byte in line {
            high = (high ^ UInt64(byte)) &* prime
            low = (low ^ UInt64(byte ^ 0x5a)) &* prime
        }
        high = (high ^ 0x0A) &* prime
        low = (low ^ 0x0A) &* prime
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            bytes[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i)))
            bytes[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i)))
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x80  // version 8: custom
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }
}

/// Splits a file descriptor into lines with large reads and no per-line allocation.
struct LineReader {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var end = 0
    private var eof = false
    private var lineNumber = 0
    private(set) var bytesConsumed: Int64 = 0

    init(fd: Int32) {
        self.fd = fd
        buffer = [UInt8](repeating: 0, count: 1 << 22)
    }

    /// Calls `body` with the next line's bytes (without the newline) and its 1-based number.
    mutating func nextLine<T>(_ body: (UnsafeBufferPointer<UInt8>) -> T) throws -> (Int, T)? {
        while true {
            let found = buffer.withUnsafeBytes { raw in
                memchr(raw.baseAddress! + start, 0x0A, end - start).map { UnsafeRawPointer($0) - raw.baseAddress! }
            }
            if let newline = found {
                lineNumber += 1
                let result = buffer.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[start..<newline])) }
                bytesConsumed += Int64(newline + 1 - start)
                start = newline + 1
                return (lineNumber, result)
            }
            if eof {
                guard start < end else { return nil }
                lineNumber += 1
                let result = buffer.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[start..<end])) }
                bytesConsumed += Int64(end - start)
                start = end
                return (lineNumber, result)
            }
            try fill()
        }
    }

    private mutating func fill() throws {
        if start > 0 {
            buffer.replaceSubrange(0..<(end - start), with: buffer[start..<end])
            end -= start
            start = 0
        }
        if end == buffer.count { buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count)) }
        let count = buffer.count
        let readCount = buffer.withUnsafeMutableBytes { raw in
            read(fd, raw.baseAddress! + end, count - end)
        }
        if readCount < 0 {
            if errno == EINTR { return }
            throw ProjectorError(.unavailable, "cannot read input: \(String(cString: strerror(errno)))")
        }
        if readCount == 0 { eof = true }
        end += readCount
    }
}
