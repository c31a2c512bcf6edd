import Foundation
public import ProjectorCore
public import ProjectorSearch

/// A `kind: wasm` spec: a WebAssembly module beside it in the projections folder, the event
/// types it receives, the setup SQL of its tables, an optional search index it feeds, limits.
public struct WasmSpec: Sendable {
    /// What one plugin call may use (`limits:`).
    public struct Limits: Sendable, Hashable {
        /// WebAssembly fuel per event (about one per instruction executed).
        public var fuel: UInt64 = 50_000_000
        /// Linear memory of one instance, in MiB.
        public var memoryMB: Int = 64
        /// The interpreter's call stack, in KiB.
        public var stackKB: Int = 512
        /// SQLite virtual-machine steps per statement.
        public var steps: Int64 = 100_000_000
    }

    public var name: String
    /// The module file as written in the spec, and its absolute path.
    public var module: String
    public var modulePath: String
    public var eventTypes: Set<String>?
    public var setup: String
    public var errorPolicy: ErrorPolicy
    public var limits: Limits
    /// The index the plugin's documents go to (`search:`), nil without one.
    public var search: SearchSpec?
    /// The spec as canonical JSON, kept with the store and part of the fingerprint.
    public var source: String
    public var file: String

    static let known: Set<String> = ["name", "kind", "description", "module", "events", "setup", "onError", "limits", "search"]

    /// Reads a decoded spec document; errors name the file and the field.
    public init(_ values: [String: Any], file: String) throws {
        func fail(_ field: String, _ message: String) -> ProjectorError {
            ProjectorError(.invalidSpec, "\(file): \(field): \(message)")
        }
        if let unknown = values.keys.sorted().first(where: { !Self.known.contains($0) }) {
            throw fail(unknown, "unknown key (known: \(Self.known.sorted().joined(separator: ", ")))")
        }
        guard let name = values["name"] as? String, ProjectionName.isValid(name) else { throw fail("name", "required, [a-z0-9_-]+") }
        guard let module = values["module"] as? String, module.hasSuffix(".wasm"), !module.contains("/") else {
            throw fail("module", "required: the .wasm file beside this spec (e.g. \(name).wasm)")
        }
        if let events = values["events"] {
            guard let list = events as? [String], !list.isEmpty else { throw fail("events", "must be a list of event types") }
            eventTypes = Set(list)
        } else {
            eventTypes = nil
        }
        self.name = name
        self.module = module
        self.modulePath = ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent(module)
        self.setup = values["setup"] as? String ?? ""
        if values["setup"] != nil, !(values["setup"] is String) { throw fail("setup", "must be SQL text") }
        self.errorPolicy = try ErrorPolicy(specValue: values["onError"], file: file)
        self.limits = try Self.limits(values["limits"], fail: fail)
        source =
            (try? JSONSerialization.data(withJSONObject: values, options: [.sortedKeys]))
            .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        self.file = file
        if let search = values["search"] {
            self.search = try Self.search(search, name: name, file: file, fail: fail)
        }
    }

    static func limits(_ value: Any?, fail: (String, String) -> ProjectorError) throws -> Limits {
        var limits = Limits()
        guard let value else { return limits }
        guard let mapping = value as? [String: Any] else { throw fail("limits", "must be a mapping (fuel, memoryMB, stackKB, steps)") }
        for (key, raw) in mapping.sorted(by: { $0.key < $1.key }) {
            guard let number = raw as? Int else { throw fail("limits.\(key)", "must be a whole number") }
            switch key {
            case "fuel" where (1_000...100_000_000_000).contains(number): limits.fuel = UInt64(number)
            case "memoryMB" where (1...4_096).contains(number): limits.memoryMB = number
            case "stackKB" where (16...65_536).contains(number): limits.stackKB = number
            case "steps" where (1_000...1_000_000_000_000).contains(number): limits.steps = Int64(number)
            case "fuel", "memoryMB", "stackKB", "steps":
                throw fail("limits.\(key)", "out of range (fuel 1000-1e11, memoryMB 1-4096, stackKB 16-65536, steps 1000-1e12)")
            default: throw fail("limits.\(key)", "unknown key (known: fuel, memoryMB, stackKB, steps)")
            }
        }
        return limits
    }

    /// `search: { fields: { title: { weight: 10 }, section: { filter: true } }, tieBreak: … }`:
    /// a search spec whose documents are the ones the plugin emits.
    static func search(_ value: Any, name: String, file: String, fail: (String, String) -> ProjectorError) throws -> SearchSpec {
        guard let mapping = value as? [String: Any], let fields = mapping["fields"] as? [String: Any], !fields.isEmpty else {
            throw fail("search", "must be a mapping with fields (name: { weight, filter, format })")
        }
        if let unknown = mapping.keys.sorted().first(where: { !["fields", "tieBreak"].contains($0) }) {
            throw fail("search.\(unknown)", "unknown key (known: fields, tieBreak)")
        }
        var converted: [String: Any] = [:]
        for (field, raw) in fields {
            var options = (raw as? [String: Any]) ?? [:]
            if options["path"] != nil { throw fail("search.fields.\(field).path", "plugins set field values themselves: no path") }
            options["path"] = "$.data.fields[\(JSONString.quote(field))]"
            converted[field] = options
        }
        var document: [String: Any] = [
            "name": name, "kind": "search", "id": "$.data.id", "fields": converted, "delete": [WasmDocuments.deleteType],
        ]
        document["tieBreak"] = mapping["tieBreak"]
        return try SearchSpec(document, file: "\(file) (search)")
    }
}
