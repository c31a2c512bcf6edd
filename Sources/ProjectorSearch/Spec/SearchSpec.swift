import Foundation
public import ProjectorCore

/// A `kind: search` spec: an FTS5 index fed by events, described in YAML or JSON.
///
/// ```yaml
/// name: packages
/// kind: search
/// events: [PackagePublished, DescriptionChanged, PackageRemoved]
/// id: $.stream
/// fields:
///   title:   { path: $.data.package, weight: 10 }
///   body:    { path: $.data.description, weight: 1, format: html }
///   section: { path: $.data.section, filter: true }
/// delete: [PackageRemoved]
/// tokenizer: unicode61
/// tieBreak: time          # optional: a field; on equal relevance, greater (newer) first
/// tenant: true            # optional: partitioned by the event's tenant (or a JSON path)
/// ```
public struct SearchSpec: Sendable, Hashable, Decodable {
    public enum Format: String, Sendable, Hashable, Decodable { case text, html }
    public enum Tokenizer: String, Sendable, Hashable, CaseIterable, Decodable { case unicode61, porter, trigram }

    public struct Field: Sendable, Hashable {
        public var name: String
        public var path: JSONPath
        public var weight: Double
        public var format: Format
        /// Stored beside the index for filters and facets, not full-text searched.
        public var filter: Bool
    }

    public var name: String
    public var eventTypes: Set<String>?
    public var id: JSONPath
    public var fields: [Field]
    public var deleteTypes: Set<String>
    public var tokenizer: Tokenizer
    public var tieBreak: String?
    /// Where a partitioned index finds each document's tenant (nil: not partitioned).
    public var tenant: JSONPath?
    public var errorPolicy: ErrorPolicy
    /// The file the spec came from, for error messages.
    public var file: String
    /// The spec as JSON, kept in the index's store so the index can be queried by the spec it
    /// was built from even after the file changed (while the next generation is built).
    public var source: String

    public var textFields: [Field] { fields.filter { !$0.filter } }
    public var filterFields: [Field] { fields.filter(\.filter) }

    /// Reads a spec file's fields; problems name the field.
    public init(from decoder: any Decoder) throws {
        let fields = SpecFields(decoder, known: Self.keys, expected: "a mapping with name, kind, id and fields")
        let name = fields.required("name", String.self, "required, 1-64 characters of a-z, 0-9, _ and -", where: ProjectionName.isValid)
        _ = fields.required("kind", String.self, "must be search", where: { $0 == "search" })
        self.name = name ?? ""
        file = fields.file
        source = fields.source
        errorPolicy = fields.optional("onError", ErrorPolicy.self, "must be a mapping with tries and then") ?? ErrorPolicy()
        let events = fields.optional("events", [String].self, "must be a list of event types", where: { !$0.contains("") })
        eventTypes = events.map(Set.init)
        deleteTypes = Set(fields.optional("delete", [String].self, "must be a list of event types", where: { !$0.contains("") }) ?? [])
        let id = Self.path(fields, "id", required: "required: a JSON path such as $.stream")
        self.fields = Self.fields(fields, name: self.name)
        tokenizer = fields.optional("tokenizer", Tokenizer.self, "must be unicode61, porter or trigram") ?? .unicode61
        let names = Set(self.fields.map(\.name))
        tieBreak = fields.optional("tieBreak", String.self, "must name one of the fields", where: names.contains)
        if let flag = fields.attempt("tenant", Bool.self) {
            tenant = flag ? try JSONPath("$.tenant") : nil
        } else if fields.has("tenant"), fields.attempt("tenant", String.self) == nil {
            fields.note("tenant", "must be true (the event's tenant) or a JSON path")
        } else {
            tenant = Self.path(fields, "tenant", required: nil)
        }
        if let types = eventTypes, let stray = deleteTypes.subtracting(types).sorted().first {
            fields.note("delete", "'\(stray)' is not one of the spec's events")
        }
        try fields.stopIfProblems()
        guard let id else { throw SpecProblems(file: file, field: "id", "required") }
        self.id = id
        if let tenant {
            // The tenant is a filter field of its own: stored, indexed, with a set per tenant.
            self.fields.append(Field(name: Self.tenantField, path: tenant, weight: 1, format: .text, filter: true))
        }
    }

    static let keys = ["name", "kind", "events", "id", "fields", "delete", "tokenizer", "tieBreak", "tenant", "description", "onError"]

    /// The JSON path at `key`, noted when it does not parse (or is missing and `required` says why).
    static func path(_ fields: SpecFields, _ key: String, required: String?) -> JSONPath? {
        let text: String?
        if let required {
            text = fields.required(key, String.self, required)
        } else {
            text = fields.optional(key, String.self, "must be a JSON path")
        }
        guard let text else { return nil }
        do { return try JSONPath(text) } catch {
            fields.note(key, "\(error)")
            return nil
        }
    }

    /// `fields:`, each a JSON path or `{ path, weight, format, filter }`, heaviest text field first.
    static func fields(_ spec: SpecFields, name: String) -> [Field] {
        let expected = "a mapping of field name to { path, weight, format, filter }"
        guard let mapping = spec.requiredMapping("fields", known: nil, expected: expected) else { return [] }
        var fields: [Field] = []
        for fieldName in mapping.keys {
            guard isIdentifier(fieldName) else {
                mapping.note(fieldName, "field names are [a-z_][a-z0-9_]*")
                continue
            }
            guard !["rowid", "doc_id", "position", "rank", tenantField, name, SearchProjection.index].contains(fieldName) else {
                mapping.note(fieldName, "'\(fieldName)' is reserved")
                continue
            }
            if mapping.attempt(fieldName, String.self) != nil {
                if let path = Self.path(mapping, fieldName, required: nil) {
                    fields.append(Field(name: fieldName, path: path, weight: 1, format: .text, filter: false))
                }
                continue
            }
            let form = "a JSON path or a mapping with path"
            guard mapping.has(fieldName) else {
                mapping.note(fieldName, "must be \(form)")
                continue
            }
            guard let field = mapping.mapping(fieldName, known: ["path", "weight", "format", "filter"], expected: form) else { continue }
            let path = Self.path(field, "path", required: "required")
            let weight = field.optional("weight", Double.self, "must be a number above 0 and at most 1000", where: { $0 > 0 && $0 <= 1000 })
            let format = field.optional("format", Format.self, "must be text or html")
            let filter = field.optional("filter", Bool.self, "must be true or false")
            if let path {
                fields.append(
                    Field(
                        name: fieldName, path: path, weight: weight ?? 1, format: format ?? .text,
                        filter: filter ?? false))
            }
        }
        if !fields.isEmpty, !fields.contains(where: { !$0.filter }) {
            spec.note("fields", "at least one field must be full-text (filter: false)")
        }
        // Heaviest text field first: it is the "name" for exact-name boosts.
        return fields.sorted { ($0.filter ? 1 : 0, -$0.weight, $0.name) < ($1.filter ? 1 : 0, -$1.weight, $1.name) }
    }

    /// The stored field holding a partitioned index's tenant.
    public static let tenantField = "tenant"

    /// The fields a caller may name: the spec's own, without a partitioned index's tenant.
    public var visibleFields: [Field] { fields.filter { tenant == nil || $0.name != Self.tenantField } }

    /// The stored key of a document: a partitioned index keys it by its tenant and id (two
    /// tenants may use the same ids), the tenant length-prefixed so no pair spells another.
    func documentKey(_ id: String, tenant: String?) -> String {
        guard self.tenant != nil, let tenant else { return id }
        return "\(tenant.utf8.count):\(tenant)" + id
    }

    /// The document id a stored key stands for.
    func documentID(_ key: String) -> String {
        guard tenant != nil, let colon = key.utf8.firstIndex(of: UInt8(ascii: ":")),
            let length = Int(String(decoding: key.utf8[..<colon], as: UTF8.self)),
            let start = key.utf8.index(colon, offsetBy: length + 1, limitedBy: key.utf8.endIndex)
        else { return key }
        return String(decoding: key.utf8[start...], as: UTF8.self)
    }

    static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.utf8.first, first == UInt8(ascii: "_") || (first >= 97 && first <= 122) else { return false }
        return text.utf8.count <= 48
            && text.utf8.allSatisfy { $0 == UInt8(ascii: "_") || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) }
    }
}

extension SearchSpec {
    /// The field a hit is titled by: its heaviest text field that it has (returned or
    /// highlighted), the first of equal weights.
    public func titleField(of hit: SearchResult.Hit) -> String? {
        textFields.filter { hit.fields[$0.name] != nil || hit.highlights[$0.name] != nil }
            .max { $0.weight < $1.weight }?.name
    }
}
