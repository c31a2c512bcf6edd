#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// Several JSON paths read together from each event: `data` and `metadata` are scanned once
/// each, and values are handed over as the event's own bytes wherever they can be.
public struct JSONPathList: Sendable {
    public let paths: [JSONPath]
    /// Per path, the payload member it goes through (in `metadata` or `data`, key as UTF-8);
    /// nil for a path of the envelope.
    private let members: [Member?]
    private let readsData: Bool
    private let readsMetadata: Bool

    private struct Member: Sendable {
        let inMetadata: Bool
        let key: [UInt8]
    }

    public init(_ paths: [JSONPath]) {
        self.paths = paths
        members = paths.map { path in
            guard path.components.count > 1, case .key(let root) = path.components[0], root == "data" || root == "metadata",
                case .key(let key) = path.components[1]
            else { return nil }
            return Member(inMetadata: root == "metadata", key: Array(key.utf8))
        }
        readsData = members.contains { $0?.inMetadata == false }
        readsMetadata = members.contains { $0?.inMetadata == true }
    }

    /// Each path's value over `event`, as ``JSONPath/value(in:)`` gives it.
    public func values(in event: RecordedEvent) -> [String?] {
        var values: [String?] = []
        values.reserveCapacity(paths.count)
        withValues(in: event) { values.append($0.map { String(decoding: $0, as: UTF8.self) }) }
        return values
    }

    /// Hands `body` the UTF-8 of each path's value over `event` in turn (nil when absent or
    /// null), as ``JSONPath/value(in:)`` renders it, building no string where the event's bytes do.
    public func withValues(in event: RecordedEvent, _ body: (UnsafeBufferPointer<UInt8>?) throws -> Void) rethrows {
        var (data, metadata) = (event.data, event.metadata)
        try data.withUTF8 { data in
            try metadata.withUTF8 { metadata in
                try withUnsafeTemporaryAllocation(of: (kind: JSONScanner.Kind, range: Range<Int>)?.self, capacity: paths.count) { found in
                    found.initialize(repeating: nil)
                    if readsData { find(in: data, metadata: false, into: found) }
                    if readsMetadata { find(in: metadata, metadata: true, into: found) }
                    for (index, path) in paths.enumerated() {
                        guard let member = members[index] else {
                            guard var text = path.value(in: event) else {
                                try body(nil)
                                continue
                            }
                            try text.withUTF8 { try body($0) }
                            continue
                        }
                        guard let (kind, range) = found[index] else {
                            try body(nil)
                            continue
                        }
                        let value = UnsafeBufferPointer(rebasing: (member.inMetadata ? metadata : data)[range])
                        switch kind {
                        case _ where path.components.count > 2, .array,
                            .string where value.contains(UInt8(ascii: "\\")):
                            guard var text = JSONNavigator.value(at: path.components.dropFirst(2), in: value) else {
                                try body(nil)
                                continue
                            }
                            try text.withUTF8 { try body($0) }
                        case .null: try body(nil)
                        case .string: try body(UnsafeBufferPointer(rebasing: value.dropFirst().dropLast()))
                        case .number, .boolean, .object: try body(value)
                        }
                    }
                }
            }
        }
    }

    /// Notes where each path's member lies in a payload (the last of a repeated key); a payload
    /// that is not an object leaves them all absent.
    private func find(
        in payload: UnsafeBufferPointer<UInt8>, metadata: Bool,
        into found: UnsafeMutableBufferPointer<(kind: JSONScanner.Kind, range: Range<Int>)?>
    ) {
        var scanner = JSONScanner(payload)
        do {
            try scanner.forEachTopLevelMember { key, kind, range in
                let escaped = key.contains(UInt8(ascii: "\\"))
                for (index, member) in members.enumerated() {
                    guard let member, member.inMetadata == metadata else { continue }
                    let matches =
                        escaped
                        ? member.key.elementsEqual(JSONScanner.unescape(key).utf8)
                        : member.key.count == key.count
                            && (key.isEmpty
                                || member.key.withUnsafeBufferPointer { memcmp($0.baseAddress!, key.baseAddress!, key.count) == 0 })
                    if matches { found[index] = (kind, range) }
                }
            }
        } catch {
            for (index, member) in members.enumerated() where member?.inMetadata == metadata { found[index] = nil }
        }
    }
}
