import Foundation
public import ProjectorCore
public import ProjectorSearch

/// A `kind: wasm` spec: a WebAssembly module beside it in the projections folder, the event
/// types it receives, the setup SQL of its tables, an optional search index it feeds, limits.
public struct WasmSpec: Sendable, Decodable {
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

    static let keys = ["name", "kind", "description", "module", "events", "setup", "onError", "limits", "search"]

    /// Reads a spec file's fields; problems name the field.
    public init(from decoder: any Decoder) throws {
        let fields = SpecFields(decoder, known: Self.keys, expected: "a mapping with name, kind and module")
        let name = fields.required("name", String.self, "required, 1-64 characters of a-z, 0-9, _ and -", where: ProjectionName.isValid)
        _ = fields.required("kind", String.self, "must be wasm", where: { $0 == "wasm" })
        let module = fields.required(
            "module", String.self, "required: the .wasm file beside this spec (e.g. \(name ?? "name").wasm)",
            where: { $0.hasSuffix(".wasm") && !$0.contains("/") })
        eventTypes = fields.optional("events", [String].self, "must be a list of event types", where: { !$0.isEmpty }).map(Set.init)
        setup = fields.optional("setup", String.self, "must be SQL text") ?? ""
        errorPolicy = fields.optional("onError", ErrorPolicy.self, "must be a mapping with tries and then") ?? ErrorPolicy()
        limits = Self.limits(fields)
        source = fields.source
        file = fields.file
        self.name = name ?? ""
        self.module = module ?? ""
        modulePath = ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent(self.module)
        if let name { search = Self.search(fields, name: name) }
        try fields.stopIfProblems()
    }

    static func limits(_ fields: SpecFields) -> Limits {
        var limits = Limits()
        let known = ["fuel", "memoryMB", "stackKB", "steps"]
        guard let mapping = fields.mapping("limits", known: known, expected: "a mapping (fuel, memoryMB, stackKB, steps)") else {
            return limits
        }
        let range = "out of range (fuel 1000-1e11, memoryMB 1-4096, stackKB 16-65536, steps 1000-1e12)"
        func number(_ key: String, _ valid: ClosedRange<Int64>) -> Int64? {
            guard mapping.attempt(key, Int64.self) != nil || !mapping.has(key) else {
                mapping.note(key, "must be a whole number")
                return nil
            }
            return mapping.optional(key, Int64.self, range, where: valid.contains)
        }
        if let fuel = number("fuel", 1_000...100_000_000_000) { limits.fuel = UInt64(fuel) }
        if let memory = number("memoryMB", 1...4_096) { limits.memoryMB = Int(memory) }
        if let stack = number("stackKB", 16...65_536) { limits.stackKB = Int(stack) }
        if let steps = number("steps", 1_000...1_000_000_000_000) { limits.steps = steps }
        return limits
    }

    /// `search: { fields: { title: { weight: 10 }, section: { filter: true } }, tieBreak: … }`:
    /// a search spec whose documents are the ones the plugin emits.
    static func search(_ fields: SpecFields, name: String) -> SearchSpec? {
        let expected = "a mapping with fields (name: { weight, filter, format })"
        guard let search = fields.mapping("search", known: ["fields", "tieBreak"], expected: expected) else { return nil }
        guard let declared = search.requiredMapping("fields", known: nil, expected: expected) else { return nil }
        var converted: [String: Any] = [:]
        for field in declared.keys {
            var values: [String: Any] = ["path": "$.data[\(JSONString.quote(field))]"]
            // A field with no options (`title:`) takes the defaults.
            if declared.has(field) {
                let known = ["weight", "filter", "format", "path"]
                guard let options = declared.mapping(field, known: known, expected: "a mapping (weight, filter, format)") else { continue }
                if options.has("path") { options.note("path", "plugins set field values themselves: no path") }
                values["weight"] = options.optional("weight", Double.self, "must be a number above 0 and at most 1000")
                values["filter"] = options.optional("filter", Bool.self, "must be true or false")
                values["format"] = options.optional("format", String.self, "must be text or html")
            }
            converted[field] = values
        }
        var document: [String: Any] = [
            "name": name, "kind": "search", "id": "$.metadata.id", "fields": converted, "delete": [WasmDocuments.deleteType],
        ]
        document["tieBreak"] = search.optional("tieBreak", String.self, "must name one of the fields")
        do {
            return try SpecProblems.decode(SearchSpec.self, json: SpecProblems.canonicalJSON(document), file: fields.file)
        } catch let problems as SpecProblems {
            for (field, message) in problems.entries { search.note(field, message) }
        } catch {
            search.note("", "\(error)")
        }
        return nil
    }
}
