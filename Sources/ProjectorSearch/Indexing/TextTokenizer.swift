import CFTS5
import Foundation
import GRDB

/// One of FTS5's own tokenizers, called directly: document sets must split text exactly as the
/// index does, and the query side must fold a word exactly as MATCH would. Once made it needs
/// no connection; one thread uses it at a time (a search projection's apply makes one for its
/// preparing thread and one for itself).
final class TextTokenizer: @unchecked Sendable {
    let handle: OpaquePointer
    /// Whether this is unicode61: its text can be split and searched without it
    /// (`projector_tokenize_unicode61`, `projector_words_present`).
    let unicode61: Bool

    /// nil when the connection has no such tokenizer.
    init?(_ tokenizer: SearchSpec.Tokenizer, db: Database) {
        let (name, arguments): (String, [String]) =
            switch tokenizer {
            case .unicode61: ("unicode61", ["remove_diacritics", "2"])
            case .porter: ("porter", ["unicode61", "remove_diacritics", "2"])
            case .trigram: ("trigram", [])
            }
        var pointers = arguments.map { strdup($0) }
        defer { pointers.forEach { free($0) } }
        let opened = pointers.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) {
                projector_tokenizer_open(db.sqliteConnection, name, $0, Int32(buffer.count))
            }
        }
        guard let opened else { return nil }
        handle = opened
        unicode61 = tokenizer == .unicode61
    }

    deinit { projector_tokenizer_close(handle) }

    /// The tokens of `text`, as the index stores them (`query`: as MATCH reads them).
    func tokens(_ text: String, query: Bool = false, prefix: Bool = false) -> [String] {
        var tokens: [String] = []
        var text = text
        text.withUTF8 { bytes in
            withUnsafeMutablePointer(to: &tokens) { sink in
                _ = bytes.withMemoryRebound(to: CChar.self) { chars in
                    projector_tokenize(
                        handle, (query ? 1 : 4) | (prefix ? 2 : 0), chars.baseAddress, Int32(chars.count), sink
                    ) { context, token, length, _, _ in
                        let tokens = context!.assumingMemoryBound(to: [String].self)
                        let buffer = UnsafeRawBufferPointer(start: token, count: Int(length))
                        tokens.pointee.append(String(decoding: buffer, as: UTF8.self))
                        return 0
                    }
                }
            }
        }
        return tokens
    }

    /// Whether `text` holds `phrase` (tokens as a query gives them) as consecutive tokens: what a
    /// phrase MATCH decides from positions, decided from the text by the index's own tokenizer.
    func contains(_ phrase: [String], in text: String) -> Bool {
        guard !phrase.isEmpty else { return false }
        var matcher = PhraseMatcher(phrases: [phrase], prefixes: [false], stopAtFirst: true)
        scan(text, with: &matcher)
        return !matcher.hits.isEmpty
    }

    /// Runs `matcher` over the tokens of `text` (as the index stores them), from byte `start` (a
    /// token boundary) to `limit` (cut back to a whole character). `quick`: split ASCII words
    /// without the tokenizer where it is unicode61 (false: the tokenizer itself, to compare).
    func scan(_ text: String, from start: Int = 0, upTo limit: Int = .max, quick: Bool = true, with matcher: inout PhraseMatcher) {
        var text = text
        text.withUTF8 { bytes in
            let count = Self.whole(bytes, upTo: limit)
            guard start < count else { return }
            var walk = (matcher: matcher, offset: Int32(start))
            withUnsafeMutablePointer(to: &walk) { sink in
                _ = bytes.withMemoryRebound(to: CChar.self) { chars in
                    let next: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int32, Int32, Int32) -> Int32 = {
                        context, token, length, start, end in
                        let walk = context!.assumingMemoryBound(to: (matcher: PhraseMatcher, offset: Int32).self)
                        let offset = walk.pointee.offset
                        return walk.pointee.matcher.next(
                            UnsafeRawBufferPointer(start: token, count: Int(length)), start: start + offset, end: end + offset) ? 1 : 0
                    }
                    let (text, length) = (chars.baseAddress! + start, Int32(count - start))
                    return quick && unicode61
                        ? projector_tokenize_unicode61(handle, text, length, sink, next)
                        : projector_tokenize(handle, 4, text, length, sink, next)
                }
            }
            matcher = walk.matcher
        }
    }

    /// Where each of `words` first occurs among the tokens of `text`'s first `limit` bytes, as a
    /// byte offset (-1: nowhere). unicode61 only (see `projector_words_present`).
    func firstOffsets(of words: QueryWords, in text: String, upTo limit: Int = .max) -> [Int32] {
        var text = text
        var first = [Int32](repeating: -1, count: words.lengths.count)
        text.withUTF8 { bytes in
            let count = Self.whole(bytes, upTo: limit)
            _ = bytes.withMemoryRebound(to: CChar.self) { chars in
                projector_words_present(
                    handle, chars.baseAddress, Int32(count), words.joined, words.lengths, words.prefixes,
                    Int32(words.lengths.count), &first)
            }
        }
        return first
    }

    /// A token boundary at least `tokens` tokens before byte `offset` of `text`, or 0 (unicode61).
    static func boundary(_ tokens: Int, before offset: Int, in text: String) -> Int {
        var text = text
        return text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { Int(projector_tokens_back($0.baseAddress, Int32(offset), Int32(tokens))) }
        }
    }

    /// Words to look for in a text, laid out for `projector_words_present`.
    struct QueryWords {
        var joined: [CChar] = []
        var lengths: [Int32] = []
        var prefixes: [UInt8] = []

        /// The word's number, added at first use; nil past 64 words.
        mutating func index(of token: String, prefix: Bool) -> Int? {
            let bytes = Array(token.utf8).map { CChar(bitPattern: $0) }
            var offset = 0
            for index in lengths.indices {
                let length = Int(lengths[index])
                if prefixes[index] == (prefix ? 1 : 0), joined[offset..<offset + length].elementsEqual(bytes) { return index }
                offset += length
            }
            guard lengths.count < 64 else { return nil }
            joined += bytes
            lengths.append(Int32(bytes.count))
            prefixes.append(prefix ? 1 : 0)
            return lengths.count - 1
        }
    }

    /// `limit` or fewer bytes of `bytes`, cut back to a whole character.
    private static func whole(_ bytes: UnsafeBufferPointer<UInt8>, upTo limit: Int) -> Int {
        var count = min(bytes.count, limit)
        while count < bytes.count, count > 0, bytes[count] & 0xC0 == 0x80 { count -= 1 }
        return count
    }
}
