import GRDB

/// A hit's highlights, cut from its stored text by the index's own tokenizer: the fragment of
/// up to ``fragmentTokens`` tokens with the most distinct query terms, HTML-escaped, `<mark>`
/// around each match. FTS5's `snippet()` picks fragments the same way, but from the index: it
/// re-reads every term's doclist for each hit (about 0.3 ms a hit at 1M documents).
struct Highlighter {
    static let fragmentTokens = 24
    /// The most of a field's text a highlight reads (Elasticsearch's `max_analyzed_offset`).
    static let scannedBytes = 65_536

    private let tokenizer: TextTokenizer
    private let phrases: [[String]]
    private let prefixes: [Bool]
    /// The phrases' distinct tokens, looked for before a text is tokenized (unicode61 only): a
    /// phrase missing one cannot occur, and a long field without any costs a byte scan.
    private let words: TextTokenizer.QueryWords?
    /// Per phrase, its tokens' numbers in `words`.
    private let phraseWords: [[Int]]

    /// nil when the query has no term to mark. `lookingAhead`: false to tokenize every text from
    /// its start (the slow way the quick one must agree with).
    init?(query: SearchQuery, spec: SearchSpec, db: Database, lookingAhead: Bool = true) {
        guard let tokenizer = TextTokenizer(spec.tokenizer, db: db) else { return nil }
        var phrases: [[String]] = []
        var prefixes: [Bool] = []
        for term in query.groups.joined() {
            // A word FTS5 splits ("foo-bar", or any word under trigram) is a phrase of tokens.
            let tokens = tokenizer.tokens(term.text, query: true, prefix: term.isPrefix)
            guard !tokens.isEmpty else { continue }
            phrases.append(tokens)
            prefixes.append(term.isPrefix && spec.tokenizer != .trigram)
        }
        guard !phrases.isEmpty else { return nil }
        (self.tokenizer, self.phrases, self.prefixes) = (tokenizer, phrases, prefixes)
        var words = TextTokenizer.QueryWords()
        var phraseWords: [[Int]] = []
        for (phrase, prefix) in zip(phrases, prefixes) {
            phraseWords.append(
                phrase.indices.compactMap { words.index(of: phrase[$0], prefix: prefix && $0 == phrase.count - 1) })
        }
        let complete = zip(phrases, phraseWords).allSatisfy { $0.count == $1.count }
        self.words = lookingAhead && tokenizer.unicode61 && complete ? words : nil
        self.phraseWords = phraseWords
    }

    /// `text`'s best fragment as HTML, or nil when no term occurs in it. The walk ends at the
    /// first fragment holding every term, or after ``scannedBytes``: a 1 MB page costs no more
    /// than a short one.
    func html(_ text: String) -> String? {
        var phrases = phrases
        var start = 0
        if let words {
            // Only phrases whose every word occurs can match, and no match starts before the
            // earliest word: the walk starts a fragment's length before it.
            let first = tokenizer.firstOffsets(of: words, in: text, upTo: Self.scannedBytes)
            for (index, numbers) in phraseWords.enumerated() where numbers.contains(where: { first[$0] < 0 }) {
                phrases[index] = []
            }
            guard phrases.contains(where: { !$0.isEmpty }) else { return nil }
            start = TextTokenizer.boundary(Self.fragmentTokens, before: Int(first.filter { $0 >= 0 }.min()!), in: text)
        }
        var matcher = PhraseMatcher(phrases: phrases, prefixes: prefixes, window: Self.fragmentTokens)
        tokenizer.scan(text, from: start, upTo: Self.scannedBytes, with: &matcher)
        guard !matcher.hits.isEmpty else { return nil }
        let spans = matcher.spans
        let hits = matcher.hits.sorted { ($0.first, $0.last) < ($1.first, $1.last) }
        let (first, last) = Self.fragment(hits, tokens: spans.count, size: Self.fragmentTokens)
        let whole = !matcher.stopped && text.utf8.count <= Self.scannedBytes
        var text = text
        return text.withUTF8 { bytes in
            let from = first == 0 && start == 0 ? 0 : Int(spans[first].start)
            let to = last == spans.count - 1 && whole ? bytes.count : Int(spans[last].end)
            var marks: [(start: Int, end: Int)] = []
            for hit in hits where hit.first >= first && hit.last <= last {
                let (start, end) = (Int(spans[hit.first].start), Int(spans[hit.last].end))
                if let previous = marks.last, start <= previous.end {
                    marks[marks.count - 1].end = max(previous.end, end)
                } else {
                    marks.append((start, end))
                }
            }
            var out: [UInt8] = []
            out.reserveCapacity(to - from + 16 * marks.count + 8)
            if from > 0 { out += Self.ellipsis }
            var mark = 0
            for index in from..<to {
                if mark < marks.count, marks[mark].start == index { out += Self.open }
                Self.appendEscaped(bytes[index], to: &out)
                if mark < marks.count, marks[mark].end == index + 1 {
                    out += Self.close
                    mark += 1
                }
            }
            if to < bytes.count { out += Self.ellipsis }
            return String(decoding: out, as: UTF8.self)
        }
    }

    static let open = Array("<mark>".utf8)
    static let close = Array("</mark>".utf8)
    private static let ellipsis = Array("…".utf8)

    /// One byte of UTF-8 text as HTML: the five characters with a meaning in HTML escaped.
    static func appendEscaped(_ byte: UInt8, to out: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "&"): out.append(contentsOf: "&amp;".utf8)
        case UInt8(ascii: "<"): out.append(contentsOf: "&lt;".utf8)
        case UInt8(ascii: ">"): out.append(contentsOf: "&gt;".utf8)
        case UInt8(ascii: "\""): out.append(contentsOf: "&quot;".utf8)
        case UInt8(ascii: "'"): out.append(contentsOf: "&#39;".utf8)
        default: out.append(byte)
        }
    }

    /// The fragment's first and last token, by `snippet()`'s rule: each hit may start a window
    /// of `size` tokens, scored 1000 per distinct term in it and 1 per repeat; the best window
    /// is then centred on the hits it holds. `hits` are in token order.
    static func fragment(_ hits: [PhraseMatcher.Hit], tokens: Int, size: Int) -> (first: Int, last: Int) {
        guard tokens > size else { return (0, tokens - 1) }
        var best = (score: 0, start: 0)
        // The first few hundred hits are plenty to find the best window in any real text.
        for (index, anchor) in hits.prefix(256).enumerated() {
            var seen = Set<Int>()
            var score = 0
            var end = anchor.first
            for hit in hits[index...] {
                if hit.first >= anchor.first + size { break }
                guard hit.last < anchor.first + size else { continue }
                score += seen.insert(hit.phrase).inserted ? 1000 : 1
                end = max(end, hit.last + 1)
            }
            if score > best.score {
                let centred = anchor.first - (size - (end - anchor.first)) / 2
                best = (score, max(0, min(centred, tokens - size)))
            }
        }
        return (best.start, best.start + size - 1)
    }
}
