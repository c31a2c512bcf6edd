import Foundation
import ProjectorCore
import Yams

/// Checks a YAML or JSON document against one of the JSON Schemas in `Schemas/`, which editors
/// use; the tests hold them to what the decoders accept.
///
/// The subset of draft 2020-12 those schemas use: type, enum, const, properties, required,
/// additionalProperties, propertyNames, min/maxProperties, items, minItems, uniqueItems,
/// minLength, pattern, minimum, maximum, exclusiveMinimum, oneOf, anyOf and local `$ref`s.
struct JSONSchemaValidator {
    let root: [String: Any]

    /// A schema's text (JSON).
    init(schema text: String) throws {
        // Read with the same YAML reader as the documents, so numbers and booleans compare alike.
        guard let root = try Yams.load(yaml: text) as? [String: Any] else {
            throw ProjectorError(.unavailable, "a schema is missing from this build")
        }
        self.root = root
    }

    /// Every violation, as `field.path: message` (`(top level)` for the document itself).
    func problems(_ value: Any) -> [String] {
        var found: [String] = []
        check(value, root, at: "", into: &found)
        return found
    }

    private func check(_ value: Any, _ schema: [String: Any], at path: String, into found: inout [String]) {
        func fail(_ message: String) { found.append("\(path.isEmpty ? "(top level)" : path): \(message)") }
        if let reference = schema["$ref"] as? String {
            if let target = resolve(reference) { check(value, target, at: path, into: &found) }
        }
        if let type = schema["type"] {
            let types = (type as? [String]) ?? [(type as? String) ?? ""]
            guard types.contains(where: { Self.matches(value, $0) }) else {
                return fail("must be \(types.map(Self.article).joined(separator: " or ")), found \(Self.describe(value))")
            }
        }
        if let constant = schema["const"], !Self.equal(value, constant) {
            fail("must be \(Self.show(constant))")
        }
        if let options = schema["enum"] as? [Any], !options.contains(where: { Self.equal(value, $0) }) {
            fail("must be one of \(options.map(Self.show).joined(separator: ", ")), found \(Self.show(value))")
        }
        if let text = value as? String {
            if let minimum = Self.number(schema["minLength"]), Double(text.count) < minimum {
                fail(minimum == 1 ? "must not be empty" : "must be at least \(Int(minimum)) characters")
            }
            if let pattern = schema["pattern"] as? String,
                text.range(of: pattern, options: .regularExpression) == nil
            {
                fail("'\(text)' does not match \(pattern)")
            }
        }
        if let number = Self.number(value), !(value is Bool) {
            if let minimum = Self.number(schema["minimum"]), number < minimum { fail("must be at least \(Self.show(minimum))") }
            if let maximum = Self.number(schema["maximum"]), number > maximum { fail("must be at most \(Self.show(maximum))") }
            if let bound = Self.number(schema["exclusiveMinimum"]), number <= bound { fail("must be more than \(Self.show(bound))") }
        }
        if let list = value as? [Any] {
            if let minimum = Self.number(schema["minItems"]), Double(list.count) < minimum {
                fail("needs at least \(Int(minimum)) item\(minimum == 1 ? "" : "s")")
            }
            if schema["uniqueItems"] as? Bool == true {
                for (index, item) in list.enumerated() where list[..<index].contains(where: { Self.equal($0, item) }) {
                    fail("\(Self.show(item)) is listed twice")
                }
            }
            if let items = schema["items"] as? [String: Any] {
                for (index, item) in list.enumerated() { check(item, items, at: "\(path)[\(index)]", into: &found) }
            }
        }
        if let object = value as? [String: Any] {
            checkObject(object, schema, at: path, into: &found)
        }
        for keyword in ["oneOf", "anyOf"] {
            guard let options = schema[keyword] as? [[String: Any]] else { continue }
            let results = options.map { option -> [String] in
                var sub: [String] = []
                check(value, option, at: path, into: &sub)
                return sub
            }
            let passing = results.filter(\.isEmpty).count
            if passing == 0 {
                // Report the branch of the value's own type: its message is the useful one.
                let typed = zip(options, results).first { option, _ in
                    (option["type"] as? String).map { Self.matches(value, $0) } ?? (option["$ref"] != nil && value is String)
                }
                if let typed {
                    found += typed.1
                } else {
                    fail("must be \(options.compactMap { $0["type"] as? String }.map(Self.article).joined(separator: " or "))")
                }
            } else if keyword == "oneOf" && passing > 1 {
                fail("matches more than one allowed form")
            }
        }
    }

    private func checkObject(_ object: [String: Any], _ schema: [String: Any], at path: String, into found: inout [String]) {
        func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
        let properties = schema["properties"] as? [String: Any] ?? [:]
        for key in (schema["required"] as? [String] ?? []) where object[key] == nil {
            found.append("\(child(key)): required")
        }
        if let minimum = Self.number(schema["minProperties"]), Double(object.count) < minimum {
            found.append("\(path.isEmpty ? "(top level)" : path): needs at least \(Int(minimum)) entr\(minimum == 1 ? "y" : "ies")")
        }
        for key in object.keys.sorted() {
            let value = object[key]!
            if let names = schema["propertyNames"] as? [String: Any] {
                var sub: [String] = []
                check(key, names, at: child(key), into: &sub)
                if !sub.isEmpty { found.append("\(child(key)): the name '\(key)' is not allowed") }
            }
            if let property = properties[key] as? [String: Any] {
                check(value, property, at: child(key), into: &found)
            } else if let additional = schema["additionalProperties"] {
                if additional as? Bool == false {
                    let known = properties.keys.sorted().joined(separator: ", ")
                    found.append("\(child(key)): unknown key (known: \(known))")
                } else if let additional = additional as? [String: Any] {
                    check(value, additional, at: child(key), into: &found)
                }
            }
        }
    }

    private func resolve(_ reference: String) -> [String: Any]? {
        guard reference.hasPrefix("#/") else { return nil }
        var node: Any = root
        for part in reference.dropFirst(2).split(separator: "/") {
            guard let next = (node as? [String: Any])?[String(part)] else { return nil }
            node = next
        }
        return node as? [String: Any]
    }

    static func matches(_ value: Any, _ type: String) -> Bool {
        switch type {
        case "string": value is String
        case "boolean": value is Bool
        case "object": value is [String: Any]
        case "array": value is [Any]
        case "null": value is NSNull
        case "integer": !(value is Bool) && number(value).map { $0.rounded() == $0 } == true
        case "number": !(value is Bool) && number(value) != nil
        default: true
        }
    }

    static func number(_ value: Any?) -> Double? {
        if value is Bool { return nil }
        if let value = value as? Int { return Double(value) }
        return value as? Double
    }

    static func equal(_ lhs: Any, _ rhs: Any) -> Bool {
        switch (lhs, rhs) {
        case let (lhs as String, rhs as String): lhs == rhs
        case let (lhs as Bool, rhs as Bool): lhs == rhs
        default: number(lhs) != nil && number(lhs) == number(rhs)
        }
    }

    static func article(_ type: String) -> String {
        [
            "object": "a mapping", "array": "a list", "string": "text", "integer": "a whole number", "number": "a number",
            "boolean": "true or false", "null": "null",
        ][type] ?? type
    }

    static func describe(_ value: Any) -> String {
        for type in ["boolean", "string", "integer", "number", "object", "array", "null"] where matches(value, type) {
            return article(type)
        }
        return "\(type(of: value))"
    }

    static func show(_ value: Any) -> String {
        if let text = value as? String { return "'\(text)'" }
        if let number = number(value) { return number.rounded() == number ? String(Int64(number)) : String(number) }
        return "\(value)"
    }
}
