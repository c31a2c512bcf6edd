import Foundation
public import ProjectorCore

/// A user's search text, parsed forgivingly: any string is a valid query.
///
/// Words are AND-ed; `"quoted phrases"`; `-word` (or `NOT word`) excludes; `a OR b`; the last
/// word matches as a prefix while the user is still typing it (no trailing space). Everything
/// else (hyphens, colons, apostrophes, stray quotes, brackets, emoji, control characters) is
/// text: each word becomes an FTS5 string literal, so nothing the user types is FTS5 syntax.
public struct SearchQuery: Sendable, Hashable {
    /// One thing to match.
    public struct Term: Sendable, Hashable {
        public var text: String
        /// Quoted by the user: the words must appear together, in order.
        public var isPhrase: Bool
        /// Matched as a prefix (the word being typed).
        public var isPrefix: Bool
    }

    /// AND of groups; each group is an OR of terms (usually just one).
    public var groups: [[Term]]
    public var excluded: [Term]

    /// Longest query text, in characters; a longer one is refused (``checkLimits(_:)``).
    public static let maxLength = 512
    /// Most terms a query may have.
    public static let maxTerms = 32

    /// How many terms the text held before any was dropped.
    public private(set) var termCount = 0

    public var isEmpty: Bool { groups.isEmpty }

    /// The plain words of the query (for typo suggestions and exact-name matching).
    public var words: [String] { groups.flatMap { $0 }.map(\.text) }

    public init(parsing input: String, prefixLast: Bool = true) {
        let cleaned = Self.clean(input)
        let endsWithSpace = cleaned.last.map { $0 == " " } ?? true
        var groups: [[Term]] = []
        var excluded: [Term] = []
        var pendingOr = false
        var pendingNot = false
        let tokens = Self.tokenize(cleaned)
        for (index, token) in tokens.enumerated() {
            let isLast = index == tokens.count - 1
            if !token.quoted {
                if token.text == "OR", !groups.isEmpty, !isLast {
                    pendingOr = true
                    continue
                }
                if token.text == "AND", !groups.isEmpty, !isLast { continue }
                if token.text == "NOT", !isLast {
                    pendingNot = true
                    continue
                }
            }
            var text = token.text
            var negative = pendingNot
            pendingNot = false
            if !token.quoted, text.hasPrefix("-"), text.count > 1 {
                negative = true
                text.removeFirst()
            }
            guard Self.hasWordCharacter(text) else {
                pendingOr = false
                continue
            }
            var term = Term(text: text, isPhrase: token.quoted, isPrefix: false)
            if negative {
                excluded.append(term)
                continue
            }
            if isLast, prefixLast, !token.quoted, !endsWithSpace { term.isPrefix = true }
            if pendingOr, !groups.isEmpty {
                groups[groups.count - 1].append(term)
            } else {
                groups.append([term])
            }
            pendingOr = false
        }
        termCount = groups.reduce(0) { $0 + $1.count } + excluded.count
        self.groups = Array(groups.prefix(Self.maxTerms))
        self.excluded = Array(excluded.prefix(Self.maxTerms))
    }

    /// Refuses a query past the length or term limits, naming the limit: any text within them
    /// is a valid query.
    /// `parsed`: the text already parsed, when the caller has it.
    public static func checkLimits(_ text: String, parsed: SearchQuery? = nil) throws(ProjectorError) {
        let length = text.count
        guard length <= maxLength else {
            throw ProjectorError(.invalidQuery, "q: at most \(maxLength) characters, found \(length)")
        }
        let terms = (parsed ?? SearchQuery(parsing: text)).termCount
        guard terms <= maxTerms else {
            throw ProjectorError(.invalidQuery, "q: at most \(maxTerms) terms, found \(terms)")
        }
    }

    /// The FTS5 MATCH expression, or nil when nothing positive is left to match.
    /// - Parameter prefixes: false for tokenizers without prefix queries (trigram).
    public func matchExpression(prefixes: Bool = true) -> String? {
        guard !groups.isEmpty else { return nil }
        let positive = groups.map { group -> String in
            let alternatives = group.map { literal($0, prefixes: prefixes) }
            return alternatives.count == 1 ? alternatives[0] : "(" + alternatives.joined(separator: " OR ") + ")"
        }.joined(separator: " ")
        guard !excluded.isEmpty else { return positive }
        return "(" + positive + ")" + excluded.map { " NOT " + literal($0, prefixes: false) }.joined()
    }

    /// The whole query as one phrase (for the phrase boost), when it has several plain words.
    public func phraseExpression() -> String? {
        let plain = groups.compactMap { $0.count == 1 && !$0[0].isPhrase ? $0[0].text : nil }
        guard plain.count == groups.count, plain.count >= 2 else { return nil }
        return Self.quote(plain.joined(separator: " "))
    }

    private func literal(_ term: Term, prefixes: Bool) -> String {
        Self.quote(term.text) + (term.isPrefix && prefixes ? "*" : "")
    }

    /// An FTS5 string literal: double quotes doubled inside.
    static func quote(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// NFKC, control characters and our highlight markers removed, whitespace unified, capped.
    static func clean(_ input: String) -> String {
        let capped = input.count > maxLength ? String(input.prefix(maxLength)) : input
        var scalars = String.UnicodeScalarView()
        for scalar in capped.precomposedStringWithCompatibilityMapping.unicodeScalars {
            if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format
                || scalar.properties.generalCategory == .privateUse || scalar.properties.generalCategory == .surrogate
            {
                scalars.append(" ")
            } else if scalar.properties.isWhitespace {
                scalars.append(" ")
            } else {
                scalars.append(scalar)
            }
        }
        return String(scalars)
    }

    /// Splits on spaces, keeping "quoted phrases" together; an unclosed quote quotes the rest.
    static func tokenize(_ text: String) -> [(text: String, quoted: Bool)] {
        var tokens: [(String, Bool)] = []
        var current = ""
        var inQuote = false
        for character in text {
            if character == "\"" {
                if inQuote {
                    if !current.isEmpty { tokens.append((current, true)) }
                    current = ""
                    inQuote = false
                } else {
                    if !current.isEmpty { tokens.append((current, false)) }
                    current = ""
                    inQuote = true
                }
            } else if character == " " && !inQuote {
                if !current.isEmpty { tokens.append((current, false)) }
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty {
            let trimmed = current.trimmingCharacters(in: .whitespaces)
            if !trimmed.isEmpty { tokens.append((trimmed, inQuote)) }
        }
        return tokens
    }

    /// Whether `text` holds anything a tokenizer indexes (a letter or a digit).
    static func hasWordCharacter(_ text: String) -> Bool {
        text.unicodeScalars.contains { scalar in
            switch scalar.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .decimalNumber,
                .letterNumber, .otherNumber:
                true
            default: false
            }
        }
    }
}
