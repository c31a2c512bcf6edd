import Foundation
import GRDB

/// Typo tolerance from the index's own vocabulary (fts5vocab) and edit distance.
///
/// Meilisearch's rule: words of 5 to 8 letters may carry one typo, 9 or more two, shorter ones
/// none. A word the index knows is kept. Candidates share the word's first letter (a range scan
/// of the vocabulary, not a full one); among those within the allowed distance, the nearest
/// wins, then the most frequent.
enum Suggester {
    static func suggest(for query: SearchQuery, spec: SearchSpec, db: Database) throws -> String? {
        guard spec.tokenizer != .trigram, !query.isEmpty else { return nil }
        var changed = false
        var words: [String] = []
        for group in query.groups {
            for term in group {
                guard !term.isPhrase, let token = singleToken(term.text) else {
                    words.append(term.text)
                    continue
                }
                if let better = try correction(for: token, prefix: term.isPrefix, db: db) {
                    words.append(better)
                    changed = true
                } else {
                    words.append(term.text)
                }
            }
        }
        return changed ? words.joined(separator: " ") : nil
    }

    /// The word as the index would store it, when it is one plain token.
    static func singleToken(_ text: String) -> String? {
        let folded = text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil).lowercased()
        guard !folded.isEmpty, folded.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) }) else {
            return nil
        }
        return folded
    }

    static func allowedTypos(_ length: Int) -> Int {
        length >= 9 ? 2 : (length >= 5 ? 1 : 0)
    }

    static func correction(for word: String, prefix: Bool, db: Database) throws -> String? {
        let vocabulary = SearchProjection.vocabulary
        if prefix {
            let upper = word + "\u{10FFFF}"
            if try Int.fetchOne(
                db, sql: "SELECT 1 FROM \(vocabulary) WHERE term >= ? AND term < ? LIMIT 1", arguments: [word, upper]) != nil
            {
                return nil
            }
        } else if try Int.fetchOne(db, sql: "SELECT doc FROM \(vocabulary) WHERE term = ?", arguments: [word]) != nil {
            return nil
        }
        let characters = Array(word.unicodeScalars)
        let typos = allowedTypos(characters.count)
        guard typos > 0, let first = characters.first else { return nil }
        let low = String(first)
        let high = String(Character(Unicode.Scalar(first.value + 1) ?? first))
        var best: (term: String, distance: Int, docs: Int)?
        let rows = try Row.fetchCursor(
            db, sql: "SELECT term, doc FROM \(vocabulary) WHERE term >= ? AND term < ?", arguments: [low, high])
        while let row = try rows.next() {
            let term: String = row[0]
            let candidate = Array(term.unicodeScalars)
            // As you type, compare with the term's start of the same length.
            let compared = prefix && candidate.count > characters.count ? Array(candidate.prefix(characters.count)) : candidate
            guard abs(compared.count - characters.count) <= typos else { continue }
            let distance = editDistance(characters, compared, limit: typos)
            guard distance <= typos, distance > 0 else { continue }
            let docs: Int = row[1]
            if best == nil || distance < best!.distance || (distance == best!.distance && docs > best!.docs) {
                best = (term, distance, docs)
            }
        }
        return best?.term
    }

    /// Damerau-Levenshtein (optimal string alignment) distance, giving up past `limit`.
    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar], limit: Int) -> Int {
        if a == b { return 0 }
        let n = a.count
        let m = b.count
        if abs(n - m) > limit { return limit + 1 }
        var previous2 = [Int](repeating: 0, count: m + 1)
        var previous = Array(0...m)
        var current = [Int](repeating: 0, count: m + 1)
        for i in 1...max(n, 1) where n > 0 {
            current[0] = i
            var rowMinimum = current[0]
            for j in 1...max(m, 1) where m > 0 {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    value = min(value, previous2[j - 2] + 1)
                }
                current[j] = value
                rowMinimum = min(rowMinimum, value)
            }
            if rowMinimum > limit { return limit + 1 }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return n == 0 ? m : (m == 0 ? n : previous[m])
    }
}
