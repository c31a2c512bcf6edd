public import Foundation

/// One mapping of a spec or configuration file, read field by field inside `init(from:)`: a
/// field's problem is noted with its dotted path, not thrown, so one pass names every problem.
public struct SpecFields {
    private let container: KeyedDecodingContainer<SpecKey>?
    private let problems: SpecProblems.Collector
    /// The file being read, for messages of checks made after the fields.
    public let file: String
    /// This mapping's dotted path in the file ("" at the top).
    public let path: String
    /// The whole file as canonical JSON (sorted keys): what a fingerprint and a store keep.
    public let source: String

    /// Reads `decoder`'s mapping, noting a value that is not one (`expected` says what it must be)
    /// and every key not in `known` (nil: any key, as in a mapping of event types).
    public init(_ decoder: any Decoder, known: [String]?, expected: String) {
        problems = decoder.userInfo[SpecProblems.collectorKey] as? SpecProblems.Collector ?? SpecProblems.Collector()
        file = decoder.userInfo[SpecProblems.fileKey] as? String ?? "spec"
        path = Self.dotted(decoder.codingPath)
        source = decoder.userInfo[SpecProblems.sourceKey] as? String ?? "{}"
        container = try? decoder.container(keyedBy: SpecKey.self)
        if container == nil {
            problems.note(path, "must be \(expected)" + ((try? Found(from: decoder)).map { ", found \($0.text)" } ?? ""))
        }
        if let known, let container {
            for key in container.allKeys.map(\.stringValue).sorted() where !known.contains(key) {
                note(key, "unknown key (known: \(known.sorted().joined(separator: ", ")))")
            }
        }
    }

    /// The mapping's keys, sorted.
    public var keys: [String] { (container?.allKeys.map(\.stringValue) ?? []).sorted() }

    /// Whether `key` holds a value (null counts as absent).
    public func has(_ key: String) -> Bool {
        guard let container, container.contains(SpecKey(key)) else { return false }
        return (try? container.decodeNil(forKey: SpecKey(key))) == false
    }

    /// The value at `key`, nil when absent; a value of another type, or one `valid` refuses, is
    /// noted as `message` and read as nil.
    public func optional<T: Decodable>(
        _ key: String, _ type: T.Type = T.self, _ message: String, where valid: (T) -> Bool = { _ in true }
    ) -> T? {
        guard has(key), let container else { return nil }
        guard let value = try? container.decode(T.self, forKey: SpecKey(key)) else {
            let found = (try? container.decode(Found.self, forKey: SpecKey(key)))?.text
            note(key, message + (found.map { ", found \($0)" } ?? ""))
            return nil
        }
        guard valid(value) else {
            note(key, "\(message), found \(Found(value).text)")
            return nil
        }
        return value
    }

    /// A value as a message shows what was found: text quoted, numbers as written, else its form.
    private struct Found: Decodable {
        let text: String

        init(_ value: Any) {
            let shown =
                switch value {
                case let text as String: "'\(text)'"
                case let number as Double where number == number.rounded() && abs(number) < 1e15: String(Int64(number))
                default: "\(value)"
                }
            text = shown.count > 80 ? shown.prefix(80) + "…" : shown
        }

        init(from decoder: any Decoder) throws {
            let value = try decoder.singleValueContainer()
            if let flag = try? value.decode(Bool.self) {
                self.init(flag)
            } else if let number = try? value.decode(Double.self) {
                self.init(number)
            } else if let text = try? value.decode(String.self) {
                self.init(text)
            } else {
                self.init(form: (try? decoder.container(keyedBy: SpecKey.self)) != nil ? "a mapping" : "a list")
            }
        }

        private init(form: String) {
            text = form
        }
    }

    /// The value at `key`; absent, of another type or refused by `valid`, it is noted as `message`.
    public func required<T: Decodable>(
        _ key: String, _ type: T.Type = T.self, _ message: String, where valid: (T) -> Bool = { _ in true }
    ) -> T? {
        guard has(key) else {
            note(key, message)
            return nil
        }
        return optional(key, type, message, where: valid)
    }

    /// The value at `key` if it is a `T`, noting nothing (for fields of several forms).
    public func attempt<T: Decodable>(_ key: String, _ type: T.Type = T.self) -> T? {
        guard has(key), let container else { return nil }
        return try? container.decode(T.self, forKey: SpecKey(key))
    }

    /// The mapping at `key`, read like this one; nil (and noted) when it is not a mapping.
    public func mapping(_ key: String, known: [String]?, expected: String) -> SpecFields? {
        guard has(key), let container else { return nil }
        guard let decoder = try? container.superDecoder(forKey: SpecKey(key)) else { return nil }
        let nested = SpecFields(decoder, known: known, expected: expected)
        return nested.container == nil ? nil : nested
    }

    /// The mapping at `key`, noting "required: `expected`" when it is absent or empty.
    public func requiredMapping(_ key: String, known: [String]?, expected: String) -> SpecFields? {
        guard has(key) else {
            note(key, "required: \(expected)")
            return nil
        }
        guard let nested = mapping(key, known: known, expected: expected) else { return nil }
        guard !nested.keys.isEmpty else {
            note(key, "required: \(expected)")
            return nil
        }
        return nested
    }

    /// Notes `message` about `key` of this mapping ("" for the mapping itself).
    public func note(_ key: String, _ message: String) {
        problems.note(key.isEmpty ? path : path.isEmpty ? key : "\(path).\(key)", message)
    }

    /// Throws what was noted so far, so checks that need sound fields (SQL, paths) run on them only.
    public func stopIfProblems() throws {
        if !problems.entries.isEmpty { throw SpecProblems(file: file, entries: problems.entries) }
    }

    static func dotted(_ path: [any CodingKey]) -> String {
        path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            .replacingOccurrences(of: ".[", with: "[")
    }
}

/// Every problem found in one spec or configuration file, each "field: message".
public struct SpecProblems: Error, CustomStringConvertible {
    /// The file as shown to the user.
    public let file: String
    /// Each problem's dotted field ("" for the file itself) and message.
    public let entries: [(field: String, message: String)]

    public init(file: String, entries: [(field: String, message: String)]) {
        self.file = file
        self.entries = entries
    }

    /// One problem, of `field` ("" for the file itself).
    public init(file: String, field: String = "", _ message: String) {
        self.init(file: file, entries: [(field, message)])
    }

    /// Each problem as one line, "field: message".
    public var problems: [String] { entries.map { $0.field.isEmpty ? $0.message : "\($0.field): \($0.message)" } }

    /// "FILE: the first problem", with how many more there are.
    public var description: String {
        "\(file): \(problems.first ?? "invalid")" + (problems.count > 1 ? " (and \(problems.count - 1) more)" : "")
    }

    /// As the error users see, with `code`.
    public func error(_ code: ProjectorError.Code) -> ProjectorError { ProjectorError(code, description) }

    /// Decodes `T` from a file's JSON form, gathering every problem its fields note.
    public static func decode<T: Decodable>(_ type: T.Type, json: Data, file: String) throws -> T {
        let collector = Collector()
        let decoder = JSONDecoder()
        decoder.userInfo = [collectorKey: collector, fileKey: file, sourceKey: String(decoding: json, as: UTF8.self)]
        let value: T
        do {
            value = try decoder.decode(T.self, from: json)
        } catch is DecodingError {
            throw collector.entries.isEmpty
                ? SpecProblems(file: file, "not the expected mapping") : SpecProblems(file: file, entries: collector.entries)
        }
        if !collector.entries.isEmpty { throw SpecProblems(file: file, entries: collector.entries) }
        return value
    }

    static let collectorKey = CodingUserInfoKey(rawValue: "projector.specProblems")!
    static let fileKey = CodingUserInfoKey(rawValue: "projector.specFile")!
    static let sourceKey = CodingUserInfoKey(rawValue: "projector.specSource")!

    /// A decoded file's values as canonical JSON (sorted keys); dates become ISO 8601 text.
    public static func canonicalJSON(_ values: [String: Any]) throws -> Data {
        func plain(_ value: Any) -> Any {
            switch value {
            case let date as Date: ISO8601DateFormatter().string(from: date)
            case let data as Data: data.base64EncodedString()
            case let mapping as [String: Any]: mapping.mapValues(plain)
            case let list as [Any]: list.map(plain)
            case is NSNull, is String, is Bool, is Int, is Double: value
            default: "\(value)"
            }
        }
        return try JSONSerialization.data(withJSONObject: plain(values), options: [.sortedKeys])
    }

    /// The problems noted while one file is decoded.
    final class Collector: @unchecked Sendable {
        var entries: [(field: String, message: String)] = []
        func note(_ field: String, _ message: String) { entries.append((field, message)) }
    }
}

/// Any key of a spec mapping.
struct SpecKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ text: String) { stringValue = text }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}
