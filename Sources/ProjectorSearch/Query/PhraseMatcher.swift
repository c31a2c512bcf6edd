import Foundation

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
    /// When set, the walk ends `window` tokens after the first window of that size holding every
    /// phrase (no later window can hold more of them), or ``patience`` tokens after every phrase
    /// was seen somewhere, apart.
    private let window: Int?
    private var stopAt = Int.max
    /// Each phrase's latest occurrence's first token.
    private var latest: [Int]
    private var partial: [UInt64]
    /// Whether some phrase is part-way matched (a bit of `partial` set).
    private var started = false
    /// The bytes some phrase token starts with: any other token is passed over at once.
    private var firstBytes = [Bool](repeating: false, count: 256)
    private(set) var hits: [Hit] = []
    /// Every token's byte range in the text.
    private(set) var spans: [(start: Int32, end: Int32)] = []

    /// How far past the point where every phrase has been seen a walk with a window goes on
    /// looking for a window holding them all: terms far apart in a long page cost this much, not
    /// the whole page.
    static let patience = 1_000

    /// Phrases longer than 63 tokens are never found.
    init(phrases: [[String]], prefixes: [Bool], stopAtFirst: Bool = false, window: Int? = nil) {
        self.phrases = phrases.map { $0.count < 64 ? $0.map { Array($0.utf8) } : [] }
        self.prefixes = prefixes
        self.stopAtFirst = stopAtFirst
        self.window = window
        latest = phrases.map { $0.isEmpty || $0.count >= 64 ? Int.max : Int.min }
        partial = Array(repeating: 0, count: phrases.count)
        for token in self.phrases.joined() { if let first = token.first { firstBytes[Int(first)] = true } }
    }

    /// Whether the walk ended before the text did.
    private(set) var stopped = false

    /// Takes the next token; true to stop the walk.
    mutating func next(_ token: UnsafeRawBufferPointer, start: Int32, end: Int32) -> Bool {
        let index = spans.count
        guard index < stopAt else {
            stopped = true
            return true
        }
        spans.append((start, end))
        if !started, let first = token.first, !firstBytes[Int(first)] { return false }
        started = false
        for (p, phrase) in phrases.enumerated() where !phrase.isEmpty {
            var advanced: UInt64 = 0
            var candidates = partial[p] | 1
            while candidates != 0 {
                let k = candidates.trailingZeroBitCount
                candidates &= candidates - 1
                if Self.matches(phrase[k], token, prefix: prefixes[p] && k == phrase.count - 1) { advanced |= 1 << (k + 1) }
            }
            let whole: UInt64 = 1 << phrase.count
            if advanced & whole != 0 {
                hits.append(Hit(phrase: p, first: index - phrase.count + 1, last: index))
                if stopAtFirst {
                    stopped = true
                    return true
                }
                if let window {
                    latest[p] = index - phrase.count + 1
                    if latest.allSatisfy({ $0 > index - window }) {
                        stopAt = min(stopAt, index + window)
                    } else if stopAt == .max, !latest.contains(Int.min) {
                        stopAt = index + Self.patience
                    }
                }
            }
            partial[p] = advanced & ~whole
            if partial[p] != 0 { started = true }
        }
        return false
    }

    /// Whether `token` is `word` (or starts with it, for a prefix), byte for byte.
    @inline(__always)
    private static func matches(_ word: [UInt8], _ token: UnsafeRawBufferPointer, prefix: Bool) -> Bool {
        guard prefix ? token.count >= word.count : token.count == word.count else { return false }
        return word.isEmpty || word.withUnsafeBytes { memcmp($0.baseAddress!, token.baseAddress!, word.count) == 0 }
    }
}
