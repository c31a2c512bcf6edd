import Foundation
import GRDB

/// Typo tolerance from the index's own vocabulary and edit distance.
///
/// Meilisearch's rule: words of 5 to 8 letters may carry one typo, 9 or more two, shorter ones
/// none. A word the index knows is kept. fts5vocab walks a term's whole doclist to count it,
/// so a scan of the vocabulary costs seconds at a million documents; instead every word one
/// edit away is generated and looked up in the index (a B-tree seek each), and the most
/// frequent wins (frequency counted up to a cap). Words of 9 letters or more that have no
/// neighbour one edit away are compared, at distance two, with the vocabulary terms sharing
/// their first three letters.
///
/// Within a tenant, every suggestion is a word of the tenant's own documents.
///
/// Bounded for any script: words longer than ``maxWordLength`` are not corrected, and a query's
/// corrections together look up at most ``maxLookups`` candidates before its deadline.
enum Suggester {
    /// Longest word corrected (one edit of a word of n letters from an alphabet of m is about
    /// 2nm candidates: a long run of CJK or one letter would be hundreds of thousands).
    static let maxWordLength = 24
    static let maxLookups = 3_000

    /// What corrections may still cost.
    struct Budget {
        var lookups = Suggester.maxLookups
        let deadline: ContinuousClock.Instant?

        /// Takes one lookup; false when none is left or the deadline passed.
        mutating func take() -> Bool {
            guard lookups > 0 else { return false }
            lookups -= 1
            if lookups & 63 == 0, let deadline, ContinuousClock.now >= deadline { lookups = 0 }
            return lookups > 0
        }
    }

    /// The tenant a partitioned index's corrections come from, and its documents when the store
    /// has document sets (a candidate is then counted by bitmap, not by walking its doclist).
    struct Tenant {
        let name: String
        let documents: DocumentSet?
    }

    static func suggest(
        for query: SearchQuery, spec: SearchSpec, tenant: Tenant? = nil, db: Database, deadline: ContinuousClock.Instant? = nil
    ) throws -> String? {
        guard spec.tokenizer != .trigram, !query.isEmpty else { return nil }
        var budget = Budget(deadline: deadline)
        var changed = false
        var words: [String] = []
        for group in query.groups {
            for term in group {
                guard !term.isPhrase, let token = singleToken(term.text), token.unicodeScalars.count <= maxWordLength else {
                    words.append(term.text)
                    continue
                }
                if let better = try correction(for: token, prefix: term.isPrefix, tenant: tenant, budget: &budget, db: db) {
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

    /// How many documents (of the tenant's) hold `term` (as a prefix when `prefix`), counted up
    /// to `cap`.
    static func frequency(_ term: String, prefix: Bool, cap: Int, tenant: Tenant?, db: Database) throws -> Int {
        let index = SearchProjection.index
        let pattern = SearchQuery.quote(term) + (prefix ? "*" : "")
        if let documents = tenant?.documents {
            if let key = MatchSet.storedKey(term, prefix: prefix), let set = try DocumentSets.load(key, db: db) {
                return min(cap, set.intersectionCount(documents))
            }
            // No set: a word in few documents, listed by FTS5.
            let rowids = try Int64.fetchCursor(
                db.cachedStatement(sql: "SELECT rowid FROM \(index) WHERE \(index) MATCH ?"), arguments: [pattern])
            var count = 0
            while count < cap, let rowid = try rowids.next() {
                if documents.contains(rowid) { count += 1 }
            }
            return count
        }
        if let tenant = tenant?.name {
            return try Int.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT count(*) FROM (SELECT 1 FROM \(index) CROSS JOIN \(SearchProjection.documents) d ON d.rowid = \(index).rowid
                        WHERE \(index) MATCH ? AND d.\(SearchSpec.tenantField) = ? LIMIT ?)
                        """),
                arguments: [pattern, tenant, cap]) ?? 0
        }
        return try Int.fetchOne(
            db.cachedStatement(sql: "SELECT count(*) FROM (SELECT 1 FROM \(index) WHERE \(index) MATCH ? LIMIT ?)"),
            arguments: [pattern, cap]) ?? 0
    }

    static func correction(for word: String, prefix: Bool, tenant: Tenant?, budget: inout Budget, db: Database) throws -> String? {
        let characters = Array(word.unicodeScalars)
        let typos = allowedTypos(characters.count)
        guard typos > 0, budget.take(), try frequency(word, prefix: prefix, cap: 1, tenant: tenant, db: db) == 0 else { return nil }
        var best: (term: String, docs: Int)?
        for candidate in oneEditAway(characters) {
            guard budget.take() else { break }
            let docs = try frequency(candidate, prefix: prefix, cap: 1000, tenant: tenant, db: db)
            if docs > 0, best == nil || docs > best!.docs { best = (candidate, docs) }
        }
        if let best { return best.term }
        guard typos >= 2, budget.take() else { return nil }
        let start = String(String.UnicodeScalarView(characters.prefix(3)))
        var nearest: [(term: String, distance: Int)] = []
        let rows = try String.fetchAll(
            db, sql: "SELECT term FROM \(SearchProjection.vocabulary) WHERE term >= ? AND term < ? LIMIT 5000",
            arguments: [start, start + "\u{10FFFF}"])
        for term in rows {
            let candidate = Array(term.unicodeScalars)
            let compared = prefix && candidate.count > characters.count ? Array(candidate.prefix(characters.count)) : candidate
            let distance = editDistance(characters, compared, limit: typos)
            if distance > 0, distance <= typos { nearest.append((term, distance)) }
        }
        // The vocabulary is the whole index's: within a tenant, the nearest word it has.
        for candidate in nearest.enumerated().sorted(by: { ($0.element.distance, $0.offset) < ($1.element.distance, $1.offset) }) {
            guard tenant != nil else { return candidate.element.term }
            guard budget.take() else { return nil }
            if try frequency(candidate.element.term, prefix: false, cap: 1, tenant: tenant, db: db) > 0 { return candidate.element.term }
        }
        return nil
    }

    /// Every string one deletion, transposition, substitution or insertion away.
    static func oneEditAway(_ word: [Unicode.Scalar]) -> Set<String> {
        var alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".unicodeScalars)
        for scalar in word where !alphabet.contains(scalar) { alphabet.append(scalar) }
        var out = Set<String>()
        func add(_ scalars: [Unicode.Scalar]) {
            if !scalars.isEmpty { out.insert(String(String.UnicodeScalarView(scalars))) }
        }
        for i in word.indices {
            var deleted = word
            deleted.remove(at: i)
            add(deleted)
            if i + 1 < word.count {
                var swapped = word
                swapped.swapAt(i, i + 1)
                add(swapped)
            }
            for letter in alphabet where letter != word[i] {
                var substituted = word
                substituted[i] = letter
                add(substituted)
            }
        }
        for i in 0...word.count {
            for letter in alphabet {
                var inserted = word
                inserted.insert(letter, at: i)
                add(inserted)
            }
        }
        out.remove(String(String.UnicodeScalarView(word)))
        return out
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
