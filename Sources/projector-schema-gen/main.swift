// projector-schema-gen SCHEMAS_FOLDER OUTPUT.swift
//
// Run by the ProjectorSchemaPlugin build-tool plugin. Turns every JSON Schema in the folder into
// Swift: a `TypedEvent` struct for each event schema (one with "x-projector-event": "TypeName"),
// and `GeneratedSchemas.byFile` with every schema's text, so a program can validate documents
// against the very files in Schemas/. Errors are printed as `FILE: error: MESSAGE` (the form
// build logs and editors link to) and exit 65.
import Foundation

struct GeneratorError: Error {
    let file: String
    let message: String
}

let swiftKeywords: Set<String> = [
    "associatedtype", "class", "deinit", "enum", "extension", "func", "import", "init", "inout", "internal", "let",
    "operator", "private", "protocol", "public", "static", "struct", "subscript", "typealias", "var", "break", "case",
    "continue", "default", "defer", "do", "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return",
    "switch", "where", "while", "as", "catch", "false", "is", "nil", "rethrows", "super", "self", "Self", "throw",
    "throws", "true", "try", "Type", "Protocol", "any", "some",
]

/// `package_name`, `package-name` → `packageName`; a leading digit gets an underscore.
func identifier(_ key: String, upper: Bool) -> String {
    let parts = key.split { !($0.isLetter || $0.isNumber) }.map(String.init)
    var name = parts.enumerated().map { index, part in
        index == 0 && !upper ? part.prefix(1).lowercased() + part.dropFirst() : part.prefix(1).uppercased() + part.dropFirst()
    }.joined()
    if name.isEmpty { name = "value" }
    if name.first!.isNumber { name = "_" + name }
    return name
}

func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\\": out += "\\\\"
        case "\"": out += "\\\""
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// The Swift type of a property schema, and whether null is allowed.
func swiftType(_ schema: [String: Any], at path: String, file: String) throws -> (type: String, nullable: Bool) {
    var types: [String]
    if let one = schema["type"] as? String {
        types = [one]
    } else if let many = schema["type"] as? [String] {
        types = many
    } else if let values = schema["enum"] as? [Any], values.allSatisfy({ $0 is String }) {
        types = ["string"]
    } else {
        throw GeneratorError(file: file, message: "\(path): needs a type (string, integer, number, boolean or array)")
    }
    let nullable = types.contains("null")
    types.removeAll { $0 == "null" }
    guard types.count == 1 else {
        throw GeneratorError(file: file, message: "\(path): one type (plus null) is supported, found \(types)")
    }
    switch types[0] {
    case "string": return ("String", nullable)
    case "integer": return ("Int64", nullable)
    case "number": return ("Double", nullable)
    case "boolean": return ("Bool", nullable)
    case "array":
        guard let items = schema["items"] as? [String: Any] else {
            throw GeneratorError(file: file, message: "\(path): an array needs items")
        }
        let element = try swiftType(items, at: path + ".items", file: file)
        return ("[\(element.type)\(element.nullable ? "?" : "")]", nullable)
    default:
        throw GeneratorError(
            file: file,
            message: "\(path): type \(types[0]) is not supported in event schemas (use string, integer, number, boolean or array)")
    }
}

func eventStruct(_ schema: [String: Any], eventType: String, file: String) throws -> String {
    guard (schema["type"] as? String) == "object" else {
        throw GeneratorError(file: file, message: "an event schema must have \"type\": \"object\"")
    }
    let properties = schema["properties"] as? [String: Any] ?? [:]
    let requiredList = (schema["required"] as? [String] ?? []).filter { properties[$0] != nil }
    let required = Set(requiredList)
    let typeName = identifier(eventType, upper: true)
    var fields: [(key: String, name: String, type: String, optional: Bool, doc: String?)] = []
    // Required properties first, in the schema's order, then the optional ones by name.
    for key in requiredList + properties.keys.filter({ !required.contains($0) }).sorted() {
        guard let property = properties[key] as? [String: Any] else {
            throw GeneratorError(file: file, message: "properties.\(key): must be a schema object")
        }
        let (type, nullable) = try swiftType(property, at: "properties.\(key)", file: file)
        var name = identifier(key, upper: false)
        if swiftKeywords.contains(name) { name = "`\(name)`" }
        fields.append((key, name, type, nullable || !required.contains(key), property["description"] as? String))
    }
    var out = ""
    let doc = (schema["description"] as? String) ?? (schema["title"] as? String) ?? "The data of a \(eventType) event."
    for line in doc.split(separator: "\n") { out += "/// \(line)\n" }
    out += "/// Generated from \((file as NSString).lastPathComponent) by ProjectorSchemaPlugin: edit the schema, not this.\n"
    out += "public struct \(typeName): TypedEvent {\n"
    out += "    public static let eventType = \(quoted(eventType))\n\n"
    for field in fields {
        if let doc = field.doc { out += "    /// \(doc.replacingOccurrences(of: "\n", with: " "))\n" }
        out += "    public var \(field.name): \(field.type)\(field.optional ? "?" : "")\n"
    }
    let parameters = fields.map { "\($0.name): \($0.type)\($0.optional ? "? = nil" : "")" }.joined(separator: ", ")
    out += "\n    public init(\(parameters)) {\n"
    for field in fields { out += "        self.\(field.name) = \(field.name)\n" }
    out += "    }\n"
    if !fields.isEmpty {
        out += "\n    enum CodingKeys: String, CodingKey {\n"
        for field in fields { out += "        case \(field.name) = \(quoted(field.key))\n" }
        out += "    }\n"
    }
    out += "}\n"
    return out
}

func generate(folder: String) throws -> String {
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
        .filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted()
    var catalog: [(String, String)] = []
    var structs: [String] = []
    var eventTypes: [String: String] = [:]
    for name in names {
        let file = (folder as NSString).appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
            throw GeneratorError(file: file, message: "cannot read the file")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw GeneratorError(file: file, message: "not valid JSON: \(error.localizedDescription)")
        }
        guard let schema = object as? [String: Any] else {
            throw GeneratorError(file: file, message: "a schema must be a JSON object")
        }
        catalog.append((name, text))
        if let eventType = schema["x-projector-event"] as? String {
            if let other = eventTypes[eventType] {
                throw GeneratorError(file: file, message: "event type \(eventType) is already described by \(other)")
            }
            eventTypes[eventType] = name
            structs.append(try eventStruct(schema, eventType: eventType, file: file))
        }
    }
    var out = "// Generated by ProjectorSchemaPlugin from Schemas/. Do not edit: edit the schemas.\n"
    if !structs.isEmpty { out += "public import ProjectorCore\n" }
    out += "\n/// The JSON Schemas of the package's Schemas/ folder, by file name.\n"
    out += "enum GeneratedSchemas {\n    static let byFile: [String: String] = [\n"
    for (name, text) in catalog { out += "        \(quoted(name)): \(quoted(text)),\n" }
    if catalog.isEmpty { out += "        :\n" }
    out += "    ]\n}\n"
    for body in structs { out += "\n" + body }
    return out
}

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: projector-schema-gen SCHEMAS_FOLDER OUTPUT.swift\n".utf8))
    exit(64)
}
do {
    let source = try generate(folder: arguments[1])
    // Leave an unchanged file alone so dependants are not recompiled.
    if (try? String(contentsOfFile: arguments[2], encoding: .utf8)) != source {
        try source.write(toFile: arguments[2], atomically: true, encoding: .utf8)
    }
} catch let error as GeneratorError {
    FileHandle.standardError.write(Data("\(error.file): error: \(error.message)\n".utf8))
    exit(65)
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
