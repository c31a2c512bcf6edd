/// A strict, allocation-light JSON reader for event lines and payloads.
///
/// Import is the hot path: decoding every line into a Foundation tree and encoding `data` back
/// to text would cost more than the SQLite inserts. The scanner validates the whole document in
/// one pass, decodes only the top-level strings the log needs, and hands back `data` and
/// `metadata` as byte ranges (compacted only when they carry insignificant whitespace).
struct JSONScanner {
    enum Kind: String { case object, array, string, number, boolean = "boolean", null }

    struct Failure: Error {
        let message: String
    }

    /// One top-level member of an object.
    struct Member {
        let key: String
        let kind: Kind
        let range: Range<Int>
        /// True when the value contains whitespace outside strings (so it needs compacting).
        let hasWhitespace: Bool
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    /// Refuse an object that has the same key twice, at any depth (the log's door does: JSON
    /// readers disagree on which value wins, so projections would disagree too).
    var refusesDuplicateKeys = false
    /// The keys of the objects being read, one list per open object, reused between objects.
    private var openKeys: [OpenObject] = []
    private var index = 0
    private var sawWhitespace = false
    /// Whether any whitespace outside strings was seen anywhere: if not, the text is compact.
    private(set) var sawAnyWhitespace = false
    private static let maxDepth = 256

    init(_ bytes: UnsafeBufferPointer<UInt8>, refusesDuplicateKeys: Bool = false) {
        self.bytes = bytes
        self.refusesDuplicateKeys = refusesDuplicateKeys
    }

    /// Validates a whole document that must be one JSON object and returns its members.
    mutating func topLevelMembers() throws(Failure) -> [Member] {
        skipWhitespace()
        guard index < bytes.count else { throw Failure(message: "empty input") }
        guard bytes[index] == UInt8(ascii: "{") else {
            let kind = try peekKindName()
            throw Failure(message: "expected a JSON object, found \(kind)")
        }
        index += 1
        var members: [Member] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                skipWhitespace()
                guard peek() == UInt8(ascii: "\"") else { throw failure("expected a string key") }
                let keyStart = index
                let key = try decodeString()
                if refusesDuplicateKeys, members.contains(where: { $0.key == key }) {
                    index = keyStart
                    throw failure("duplicate key \"\(key)\"")
                }
                skipWhitespace()
                guard peek() == UInt8(ascii: ":") else { throw failure("expected ':' after key \"\(key)\"") }
                index += 1
                skipWhitespace()
                sawWhitespace = false
                let start = index
                let kind = try value(depth: 1)
                members.append(Member(key: key, kind: kind, range: start..<index, hasWhitespace: sawWhitespace))
                skipWhitespace()
                guard let next = peek() else { throw failure("unterminated object") }
                index += 1
                if next == UInt8(ascii: "}") { break }
                guard next == UInt8(ascii: ",") else {
                    index -= 1
                    throw failure("expected ',' or '}'")
                }
            }
        }
        skipWhitespace()
        guard index == bytes.count else { throw failure("unexpected text after the object") }
        return members
    }

    /// Walks the members of a document that must be one JSON object, building nothing: `body`
    /// gets each member's key as written (between its quotes, escapes undecoded), kind and range.
    mutating func forEachTopLevelMember(_ body: (UnsafeBufferPointer<UInt8>, Kind, Range<Int>) -> Void) throws(Failure) {
        skipWhitespace()
        guard peek() == UInt8(ascii: "{") else { throw failure("expected a JSON object") }
        index += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw failure("expected a string key") }
            let keyStart = index + 1
            try skipString()
            let key = UnsafeBufferPointer(rebasing: bytes[keyStart..<(index - 1)])
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw failure("expected ':'") }
            index += 1
            skipWhitespace()
            let start = index
            let kind = try value(depth: 1)
            body(key, kind, start..<index)
            skipWhitespace()
            guard let next = peek() else { throw failure("unterminated object") }
            index += 1
            if next == UInt8(ascii: "}") { return }
            guard next == UInt8(ascii: ",") else { throw failure("expected ',' or '}'") }
        }
    }

    /// Validates a whole document that must be an array and returns its elements' ranges.
    mutating func arrayElements() throws(Failure) -> [Range<Int>] {
        skipWhitespace()
        guard peek() == UInt8(ascii: "[") else { throw failure("expected an array") }
        index += 1
        var elements: [Range<Int>] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            index += 1
        } else {
            while true {
                skipWhitespace()
                let start = index
                _ = try value(depth: 1)
                elements.append(start..<index)
                skipWhitespace()
                guard let next = peek() else { throw failure("unterminated array") }
                index += 1
                if next == UInt8(ascii: "]") { break }
                guard next == UInt8(ascii: ",") else {
                    index -= 1
                    throw failure("expected ',' or ']'")
                }
            }
        }
        skipWhitespace()
        guard index == bytes.count else { throw failure("unexpected text after the array") }
        return elements
    }

    /// Validates a whole document and returns its kind (any JSON value).
    mutating func validateDocument() throws(Failure) -> Kind {
        skipWhitespace()
        guard index < bytes.count else { throw Failure(message: "empty input") }
        let kind = try value(depth: 0)
        skipWhitespace()
        guard index == bytes.count else { throw failure("unexpected text after the value") }
        return kind
    }

    // MARK: - Values

    private mutating func value(depth: Int) throws(Failure) -> Kind {
        guard depth < Self.maxDepth else { throw failure("nested too deeply") }
        guard let byte = peek() else { throw failure("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"):
            index += 1
            skipInnerWhitespace()
            if peek() == UInt8(ascii: "}") {
                index += 1
                return .object
            }
            if refusesDuplicateKeys {
                if openKeys.count < depth { openKeys.append(contentsOf: repeatElement(OpenObject(), count: depth - openKeys.count)) }
                openKeys[depth - 1].keys.removeAll(keepingCapacity: true)
                openKeys[depth - 1].hashes.removeAll(keepingCapacity: true)
            }
            while true {
                skipInnerWhitespace()
                guard peek() == UInt8(ascii: "\"") else { throw failure("expected a string key") }
                let keyStart = index
                try skipString()
                if refusesDuplicateKeys { try noteKey(keyStart..<index, depth: depth) }
                skipInnerWhitespace()
                guard peek() == UInt8(ascii: ":") else { throw failure("expected ':'") }
                index += 1
                skipInnerWhitespace()
                _ = try value(depth: depth + 1)
                skipInnerWhitespace()
                guard let next = peek() else { throw failure("unterminated object") }
                index += 1
                if next == UInt8(ascii: "}") { return .object }
                guard next == UInt8(ascii: ",") else {
                    index -= 1
                    throw failure("expected ',' or '}'")
                }
            }
        case UInt8(ascii: "["):
            index += 1
            skipInnerWhitespace()
            if peek() == UInt8(ascii: "]") {
                index += 1
                return .array
            }
            while true {
                skipInnerWhitespace()
                _ = try value(depth: depth + 1)
                skipInnerWhitespace()
                guard let next = peek() else { throw failure("unterminated array") }
                index += 1
                if next == UInt8(ascii: "]") { return .array }
                guard next == UInt8(ascii: ",") else {
                    index -= 1
                    throw failure("expected ',' or ']'")
                }
            }
        case UInt8(ascii: "\""):
            try skipString()
            return .string
        case UInt8(ascii: "t"):
            try literal("true")
            return .boolean
        case UInt8(ascii: "f"):
            try literal("false")
            return .boolean
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try number()
            return .number
        default:
            throw failure("unexpected character")
        }
    }

    private mutating func literal(_ word: String) throws(Failure) {
        var offset = index
        for byte in word.utf8 {
            guard offset < bytes.count, bytes[offset] == byte else { throw failure("invalid literal") }
            offset += 1
        }
        index = offset
    }

    private mutating func number() throws(Failure) {
        if peek() == UInt8(ascii: "-") { index += 1 }
        guard let first = peek(), isDigit(first) else { throw failure("invalid number") }
        index += 1
        if first != UInt8(ascii: "0") {
            while let byte = peek(), isDigit(byte) { index += 1 }
        }
        if peek() == UInt8(ascii: ".") {
            index += 1
            guard let byte = peek(), isDigit(byte) else { throw failure("invalid number") }
            while let byte = peek(), isDigit(byte) { index += 1 }
        }
        if let byte = peek(), byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            index += 1
            if let sign = peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { index += 1 }
            guard let digit = peek(), isDigit(digit) else { throw failure("invalid number") }
            while let byte = peek(), isDigit(byte) { index += 1 }
        }
    }

    /// Skips a string, validating escapes and rejecting raw control characters.
    private mutating func skipString() throws(Failure) {
        index += 1  // opening quote
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return
            }
            if byte == UInt8(ascii: "\\") {
                try skipEscape()
                continue
            }
            if byte < 0x20 { throw failure("control character in string") }
            index += 1
        }
        throw failure("unterminated string")
    }

    private mutating func skipEscape() throws(Failure) {
        guard index + 1 < bytes.count else { throw failure("unterminated string") }
        switch bytes[index + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
            UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            index += 2
        case UInt8(ascii: "u"):
            guard index + 6 <= bytes.count, (2..<6).allSatisfy({ isHex(bytes[index + $0]) }) else {
                throw failure("invalid \\u escape")
            }
            index += 6
        default:
            throw failure("invalid escape")
        }
    }

    /// Decodes the string at the cursor into a Swift string.
    private mutating func decodeString() throws(Failure) -> String {
        let start = index + 1
        var hasEscape = false
        index += 1
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { break }
            if byte == UInt8(ascii: "\\") {
                hasEscape = true
                try skipEscape()
                continue
            }
            if byte < 0x20 { throw failure("control character in string") }
            index += 1
        }
        guard index < bytes.count else { throw failure("unterminated string") }
        let end = index
        index += 1
        let slice = UnsafeBufferPointer(rebasing: bytes[start..<end])
        if !hasEscape { return String(decoding: slice, as: UTF8.self) }
        return Self.unescape(slice)
    }

    /// Decodes a string literal's content (between the quotes) that is known to be valid.
    static func unescape(_ slice: UnsafeBufferPointer<UInt8>) -> String {
        var out = [UInt8]()
        out.reserveCapacity(slice.count)
        var i = 0
        func hexValue(_ at: Int) -> UInt32 {
            var value: UInt32 = 0
            for offset in 0..<4 {
                let byte = slice[at + offset]
                let digit: UInt8 =
                    switch byte {
                    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
                    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
                    default: byte - UInt8(ascii: "A") + 10
                    }
                value = value << 4 | UInt32(digit)
            }
            return value
        }
        while i < slice.count {
            let byte = slice[i]
            guard byte == UInt8(ascii: "\\"), i + 1 < slice.count else {
                out.append(byte)
                i += 1
                continue
            }
            let next = slice[i + 1]
            i += 2
            switch next {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hexValue(i)
                i += 4
                if (0xD800..<0xDC00).contains(scalar), i + 6 <= slice.count, slice[i] == UInt8(ascii: "\\"),
                    slice[i + 1] == UInt8(ascii: "u")
                {
                    let low = hexValue(i + 2)
                    if (0xDC00..<0xE000).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                }
                let character = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(character).utf8))
            default: out.append(next)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: - Duplicate keys

    /// The keys of an open object: literals (quotes included) with hashes of what they decode
    /// to, and past a few keys a set of the hashes, so a huge object costs no quadratic scan.
    private struct OpenObject {
        var keys: [(literal: Range<Int>, hash: UInt64)] = []
        var hashes: Set<UInt64> = []
    }

    /// Records a key of the object open at `depth`; throws when that object already has it.
    private mutating func noteKey(_ literal: Range<Int>, depth: Int) throws(Failure) {
        let hash = keyHash(literal)
        let slot = depth - 1
        if openKeys[slot].keys.count >= 32 {
            if openKeys[slot].hashes.isEmpty { openKeys[slot].hashes = Set(openKeys[slot].keys.map(\.hash)) }
            if openKeys[slot].hashes.insert(hash).inserted {
                openKeys[slot].keys.append((literal, hash))
                return
            }
        }
        for seen in openKeys[slot].keys where seen.hash == hash && decodedKey(seen.literal) == decodedKey(literal) {
            index = literal.lowerBound
            throw failure("duplicate key \"\(decodedKey(literal))\"")
        }
        openKeys[slot].keys.append((literal, hash))
    }

    /// FNV-1a of the key's decoded UTF-8 (most keys have no escape and are hashed in place).
    private func keyHash(_ literal: Range<Int>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let inner = bytes[(literal.lowerBound + 1)..<(literal.upperBound - 1)]
        if inner.contains(UInt8(ascii: "\\")) {
            for byte in decodedKey(literal).utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        } else {
            for byte in inner { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        }
        return hash
    }

    private func decodedKey(_ literal: Range<Int>) -> String {
        Self.unescape(UnsafeBufferPointer(rebasing: bytes[(literal.lowerBound + 1)..<(literal.upperBound - 1)]))
    }

    // MARK: - Helpers

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private func isHex(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
    }

    private mutating func skipWhitespace() {
        let start = index
        while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
        if index != start { sawAnyWhitespace = true }
    }

    private mutating func skipInnerWhitespace() {
        let start = index
        skipWhitespace()
        if index != start { sawWhitespace = true }
    }

    private mutating func peekKindName() throws(Failure) -> String {
        var copy = self
        return try copy.value(depth: 0).rawValue
    }

    private func failure(_ message: String) -> Failure {
        Failure(message: "\(message) at byte \(index + 1)")
    }

    /// Copies `range` without whitespace outside strings.
    func compacted(_ range: Range<Int>) -> String {
        var out = [UInt8]()
        out.reserveCapacity(range.count)
        var inString = false
        var i = range.lowerBound
        while i < range.upperBound {
            let byte = bytes[i]
            if inString {
                out.append(byte)
                if byte == UInt8(ascii: "\\") {
                    out.append(bytes[i + 1])
                    i += 2
                    continue
                }
                if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
                out.append(byte)
            } else if !(byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09) {
                out.append(byte)
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The text of `range`, compacted when needed.
    func text(of member: Member) -> String {
        member.hasWhitespace
            ? compacted(member.range)
            : String(decoding: UnsafeBufferPointer(rebasing: bytes[member.range]), as: UTF8.self)
    }

    /// Decodes a string member's value.
    func string(of member: Member) -> String {
        let inner = UnsafeBufferPointer(rebasing: bytes[(member.range.lowerBound + 1)..<(member.range.upperBound - 1)])
        return inner.contains(UInt8(ascii: "\\")) ? Self.unescape(inner) : String(decoding: inner, as: UTF8.self)
    }

    /// The raw bytes of a member's value as text.
    func raw(of member: Member) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[member.range]), as: UTF8.self)
    }
}
