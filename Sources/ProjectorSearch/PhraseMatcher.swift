/// Several phrases (each a run of tokens) found in one walk over a text's tokens. Bit k of a
/// phrase's partial mask says the last k tokens were its first k, so repeated words ("the the")
/// need no backtracking.
struct PhraseMatcher {
    /// One occurrence: phrase `phrase` on tokens `first...last`.
    struct Hit { var phrase: Int, first: Int, last: Int }

    private let phrases: [[[UInt8]]]
    /// Whether a phrase's last token may be a prefix of the text's token.
    private let prefixes: [Bool]
    private let stopAtFirst: Bool
    private var partial: [UInt64]
    private(set) var hits: [Hit] = []
    /// Every token's byte range in the text.
    private(set) var spans: [(start: Int32, end: Int32)] = []

    /// Phrases longer than 63 tokens are never found.
    init(phrases: [[String]], prefixes: [Bool], stopAtFirst: Bool = false) {
        self.phrases = phrases.map { $0.count < 64 ? $0.map { Array($0.utf8) } : [] }
        self.prefixes = prefixes
        self.stopAtFirst = stopAtFirst
        partial = Array(repeating: 0, count: phrases.count)
    }

    /// Takes the next token; true to stop the walk.
    mutating func next(_ token: UnsafeRawBufferPointer, start: Int32, end: Int32) -> Bool {
        let index = spans.count
        spans.append((start, end))
        for (p, phrase) in phrases.enumerated() where !phrase.isEmpty {
            var advanced: UInt64 = 0
            var candidates = partial[p] | 1
            while candidates != 0 {
                let k = candidates.trailingZeroBitCount
                candidates &= candidates - 1
                let matches =
                    prefixes[p] && k == phrase.count - 1
                    ? token.starts(with: phrase[k]) : phrase[k].elementsEqual(token)
                if matches { advanced |= 1 << (k + 1) }
            }
            let whole: UInt64 = 1 << phrase.count
            if advanced & whole != 0 {
                hits.append(Hit(phrase: p, first: index - phrase.count + 1, last: index))
                if stopAtFirst { return true }
            }
            partial[p] = advanced & ~whole
        }
        return false
    }
}
