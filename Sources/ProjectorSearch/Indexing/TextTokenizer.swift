import CFTS5
import Foundation
import GRDB

/// One of FTS5's own tokenizers, called directly: document sets must split text exactly as the
/// index does, and the query side must fold a word exactly as MATCH would. Once made it needs
/// no connection; one thread uses it at a time (a search projection's apply makes one for its
/// preparing thread and one for itself).
final class TextTokenizer: @unchecked Sendable {
    let handle: OpaquePointer

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

    /// Runs `matcher` over the tokens of `text` (as the index stores them).
    /// `upTo`: only the text's first bytes (cut back to a whole character).
    func scan(_ text: String, upTo limit: Int = .max, with matcher: inout PhraseMatcher) {
        var text = text
        text.withUTF8 { bytes in
            var count = min(bytes.count, limit)
            while count < bytes.count, count > 0, bytes[count] & 0xC0 == 0x80 { count -= 1 }
            withUnsafeMutablePointer(to: &matcher) { sink in
                _ = bytes.withMemoryRebound(to: CChar.self) { chars in
                    projector_tokenize(handle, 4, chars.baseAddress, Int32(count), sink) { context, token, length, start, end in
                        let matcher = context!.assumingMemoryBound(to: PhraseMatcher.self)
                        return matcher.pointee.next(UnsafeRawBufferPointer(start: token, count: Int(length)), start: start, end: end)
                            ? 1 : 0
                    }
                }
            }
        }
    }
}
