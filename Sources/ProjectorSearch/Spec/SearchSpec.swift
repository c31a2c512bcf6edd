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
public struct SearchSpec: Sendable, Hashable {
    public enum Format: String, Sendable, Hashable { case text, html }
    public enum Tokenizer: String, Sendable, Hashable, CaseIterable { case unicode61, porter, trigram }

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

    /// Validates a decoded spec document; errors name the file and the field.
    public init(_ values: [String: Any], file: String) throws {
        func fail(_ field: String, _ message: String) -> ProjectorError {
            ProjectorError(.invalidSpec, "\(file): \(field): \(message)")
        }
        let known: Set<String> = [
            "name", "kind", "events", "id", "fields", "delete", "tokenizer", "tieBreak", "tenant", "description", "onError",
        ]
        if let unknown = values.keys.sorted().first(where: { !known.contains($0) }) {
            throw fail(unknown, "unknown key (known: \(known.sorted().joined(separator: ", ")))")
        }
        guard let name = values["name"] as? String, ProjectionName.isValid(name) else {
            throw fail("name", "required, [a-z0-9_-]+")
        }
        guard (values["kind"] as? String) == "search" else { throw fail("kind", "must be search") }
        self.name = name
        self.file = file
        errorPolicy = try ErrorPolicy(specValue: values["onError"], file: file)
        source =
            (try? JSONSerialization.data(withJSONObject: values, options: [.sortedKeys]))
            .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        eventTypes = try Self.stringSet(values["events"], field: "events", fail: fail)
        deleteTypes = try Self.stringSet(values["delete"], field: "delete", fail: fail) ?? []
        guard let idText = values["id"] as? String else { throw fail("id", "required: a JSON path such as $.stream") }
        do { id = try JSONPath(idText) } catch { throw fail("id", "\(error)") }
        guard let fieldValues = values["fields"] as? [String: Any], !fieldValues.isEmpty else {
            throw fail("fields", "required: a mapping of field name to { path, weight, format, filter }")
        }
        var fields: [Field] = []
        for (fieldName, raw) in fieldValues.sorted(by: { $0.key < $1.key }) {
            let at = "fields.\(fieldName)"
            guard Self.isIdentifier(fieldName) else { throw fail(at, "field names are [a-z_][a-z0-9_]*") }
            guard !["rowid", "doc_id", "position", "rank", Self.tenantField, name, SearchProjection.index].contains(fieldName) else {
                throw fail(at, "'\(fieldName)' is reserved")
            }
            let spec: [String: Any]
            if let path = raw as? String {
                spec = ["path": path]
            } else if let mapping = raw as? [String: Any] {
                spec = mapping
            } else {
                throw fail(at, "must be a JSON path or a mapping with path")
            }
            if let unknown = spec.keys.sorted().first(where: { !["path", "weight", "format", "filter"].contains($0) }) {
                throw fail("\(at).\(unknown)", "unknown key (known: filter, format, path, weight)")
            }
            guard let pathText = spec["path"] as? String else { throw fail("\(at).path", "required") }
            let path: JSONPath
            do { path = try JSONPath(pathText) } catch { throw fail("\(at).path", "\(error)") }
            var weight = 1.0
            if let value = spec["weight"] {
                guard let number = (value as? Double) ?? (value as? Int).map(Double.init), number > 0, number <= 1000 else {
                    throw fail("\(at).weight", "must be a number above 0 and at most 1000")
                }
                weight = number
            }
            var format = Format.text
            if let value = spec["format"] {
                guard let text = value as? String, let parsed = Format(rawValue: text) else {
                    throw fail("\(at).format", "must be text or html")
                }
                format = parsed
            }
            var filter = false
            if let value = spec["filter"] {
                guard let flag = value as? Bool else { throw fail("\(at).filter", "must be true or false") }
                filter = flag
            }
            fields.append(Field(name: fieldName, path: path, weight: weight, format: format, filter: filter))
        }
        // Heaviest text field first: it is the "name" for exact-name boosts.
        self.fields = fields.sorted { ($0.filter ? 1 : 0, -$0.weight, $0.name) < ($1.filter ? 1 : 0, -$1.weight, $1.name) }
        guard !self.fields.filter({ !$0.filter }).isEmpty else {
            throw fail("fields", "at least one field must be full-text (filter: false)")
        }
        tokenizer = .unicode61
        if let value = values["tokenizer"] {
            guard let text = value as? String, let parsed = Tokenizer(rawValue: text) else {
                throw fail("tokenizer", "must be unicode61, porter or trigram")
            }
            tokenizer = parsed
        }
        if let value = values["tieBreak"] {
            guard let text = value as? String, fields.contains(where: { $0.name == text }) else {
                throw fail("tieBreak", "must name one of the fields")
            }
            tieBreak = text
        }
        if let value = values["tenant"] {
            if let text = value as? String {
                do { tenant = try JSONPath(text) } catch { throw fail("tenant", "\(error)") }
            } else if let flag = value as? Bool {
                tenant = flag ? try JSONPath("$.tenant") : nil
            } else {
                throw fail("tenant", "must be true (the event's tenant) or a JSON path")
            }
        }
        if let tenant {
            // The tenant is a filter field of its own: stored, indexed, with a set per tenant.
            self.fields.append(Field(name: Self.tenantField, path: tenant, weight: 1, format: .text, filter: true))
        }
        if let types = eventTypes, let stray = deleteTypes.subtracting(types).sorted().first {
            throw fail("delete", "'\(stray)' is not one of the spec's events")
        }
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

    static func stringSet(_ value: Any?, field: String, fail: (String, String) -> ProjectorError) throws -> Set<String>? {
        guard let value else { return nil }
        guard let list = value as? [Any], list.allSatisfy({ ($0 as? String)?.isEmpty == false }) else {
            throw fail(field, "must be a list of event types")
        }
        return Set(list.compactMap { $0 as? String })
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
