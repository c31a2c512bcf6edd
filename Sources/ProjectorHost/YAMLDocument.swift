import Foundation
import ProjectorCore
import Yams

/// Reads the YAML (or JSON: YAML is a superset) files users write: configuration and specs.
enum YAMLDocument {
    /// The file's top-level mapping. Errors are one line naming `shownPath` and carrying `code`;
    /// an empty file is an empty mapping when `allowEmpty`.
    static func mapping(
        at path: String, shownPath: String, code: ProjectorError.Code, expected: String, allowEmpty: Bool = false
    ) throws -> [String: Any] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ProjectorError(code, "\(shownPath): cannot read the file")
        }
        let value: Any?
        do {
            value = try Yams.load(yaml: text)
        } catch {
            throw ProjectorError(code, "\(shownPath): not valid YAML or JSON: \(oneLine(error))")
        }
        if value == nil, allowEmpty { return [:] }
        guard let mapping = value as? [String: Any] else {
            throw ProjectorError(code, "\(shownPath): expected \(expected)")
        }
        return mapping
    }

    /// A parser's multi-line message as one line.
    static func oneLine(_ error: any Error) -> String {
        String(describing: error).split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .joined(separator: " ")
    }
}
