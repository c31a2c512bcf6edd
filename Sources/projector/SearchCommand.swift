import ArgumentParser
import Foundation
import GRDB
import ProjectorCore
import ProjectorHost
import ProjectorSQLite
import ProjectorSearch
import ProjectorSpecs

struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search a search index: ranked hits with highlights, filters and facets.",
        discussion: """
            Any text is a valid query: words are AND-ed, "quoted phrases" stay together, -word \
            excludes, a OR b, and the last word matches as a prefix unless the query ends with a \
            space. When a query finds nothing, a typo-corrected query from the index's own \
            vocabulary is suggested and run.
              projector search packages 'text editor'
              projector search packages vim --filter section=editors --facet section --json
              projector search docs invoice --tenant acme      (an index partitioned by tenant)
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The search index (a kind: search projection).") var index: String
    @Argument(help: "The query text.") var query: String = ""
    @Option(help: "Hits per page (at most 1000).") var limit: Int = 10
    @Option(help: "Hits to skip (paging).") var offset: Int = 0
    @Option(name: .customLong("filter"), help: "FIELD=VALUE: only documents whose field equals the value (repeatable).")
    var filters: [String] = []
    @Option(name: .customLong("facet"), help: "Count the matching documents per value of this field (repeatable).")
    var facets: [String] = []
    @Option(help: "FIELD,FIELD: the fields each hit returns (default: all).") var fields: String?
    @Option(help: "FIELD,FIELD: the text fields each hit highlights (default: all).") var highlight: String?
    @Option(help: "Characters a returned field keeps before it is cut with … (0: whole values).")
    var crop: Int = SearchRequest.defaultCrop
    @Option(help: "The tenant to search within (required by an index partitioned by tenant).") var tenant: String?
    @Flag(help: "Print the result JSON.") var json = false
    @Flag(help: "Treat the query as raw FTS5 syntax (validated first).") var raw = false
    @Flag(help: "Only suggest a correction; do not run it when the query finds nothing.") var noAutocorrect = false

    static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func run() async throws {
        guard limit >= 0, offset >= 0 else { throw ProjectorError(.invalidQuery, "--limit and --offset must not be negative") }
        let parsedFilters = try filters.map { text -> (field: String, value: String) in
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                throw ProjectorError(.invalidQuery, "--filter must be FIELD=VALUE, found '\(text)'")
            }
            return (String(text[..<equals]), String(text[text.index(after: equals)...]))
        }
        let configuration = try global.configuration()
        let current = try ProjectionCatalog.searchSpec(named: index, configuration, kinds: GlobalOptions.kinds)
        let store = try global.existingStore(index, configuration)
        guard let spec = try await SearchKind.specAsBuilt(current, store: store) else {
            throw ProjectorError(
                .unavailable, "the store of '\(index)' was built from another version of its spec: run `projector rebuild \(index)`")
        }
        if spec != current, !json {
            Terminal.note("\(index): the spec changed; answering from the live index built by the previous spec until the rebuild swaps in")
        }
        let result = try await SearchIndex(spec: spec, reader: store.pool).search(
            SearchRequest(
                query: query, limit: limit, offset: offset, filters: parsedFilters, facets: facets, raw: raw,
                autocorrect: !noAutocorrect, fields: fields.map(Self.list), highlight: highlight.map(Self.list), crop: crop,
                tenant: tenant))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
        } else {
            SearchView.print(result, spec: spec)
        }
    }
}

/// The readable terminal view: ranked hits with highlighted fragments.
enum SearchView {
    static func print(_ result: SearchResult, spec: SearchSpec) {
        let color = Terminal.stdoutIsTerminal
        let output = OutputBuffer()
        if result.corrected == true, let suggestion = result.suggestion {
            output.line("No results for \"\(result.query)\"; showing results for \"\(suggestion)\".")
        } else if let suggestion = result.suggestion {
            output.line("Did you mean \"\(suggestion)\"?")
        }
        let shown = result.hits.count
        output.line(
            "\(result.total) \(result.total == 1 ? "match" : "matches") in \(result.index) (\(result.tookMs) ms)"
                + (shown > 0 ? ", showing \(shown)" : "")
                + (result.truncated == true ? " (the answer's size bound cut the page short)" : ""))
        for (number, hit) in result.hits.enumerated() {
            let heading = spec.titleField(of: hit)
            let title = heading.flatMap { hit.highlights[$0] ?? hit.fields[$0].map(escape) } ?? escape(hit.id)
            output.line("")
            output.line("\(number + 1). \(render(title, color: color))  \(dim(hit.id, color))")
            for field in spec.textFields where field.name != heading {
                guard let text = hit.highlights[field.name] else { continue }
                output.line("   \(field.name): \(render(text, color: color))")
            }
            let filters = spec.filterFields.compactMap { field in hit.fields[field.name].map { "\(field.name)=\($0)" } }
            if !filters.isEmpty { output.line("   " + dim(filters.joined(separator: "  "), color)) }
        }
        for (facet, counts) in result.facets.sorted(by: { $0.key < $1.key }) {
            output.line("")
            output.line("\(facet):")
            for (value, count) in counts.sorted(by: { ($1.value, $0.key) < ($0.value, $1.key) }).prefix(15) {
                output.line("  \(String(count).padding(toLength: 6, withPad: " ", startingAt: 0)) \(value)")
            }
        }
        output.flush()
    }

    /// Highlight HTML to terminal text: marks in bold yellow (or [brackets] without a terminal).
    static func render(_ html: String, color: Bool) -> String {
        let flat = html.replacingOccurrences(of: "\n", with: " ")
        let marked =
            flat
            .replacingOccurrences(of: "<mark>", with: color ? "\u{1B}[1;33m" : "[")
            .replacingOccurrences(of: "</mark>", with: color ? "\u{1B}[0m" : "]")
        return marked.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    static func dim(_ text: String, _ color: Bool) -> String { color ? "\u{1B}[2m\(text)\u{1B}[0m" : text }
}
