import Foundation
import ProjectorCore
import Yams

/// Reads the YAML (or JSON: YAML is a superset) files users write: configuration and specs.
enum YAMLDocument {
    /// The file's top-level mapping; problems name `shownPath`. An empty file is an empty
    /// mapping when `allowEmpty`.
    static func mapping(at path: String, shownPath: String, expected: String, allowEmpty: Bool = false) throws -> [String: Any] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SpecProblems(file: shownPath, "cannot read the file")
        }
        let value: Any?
        do {
            let node = try Yams.compose(yaml: text)
            // Aliases are shared while composed and copied when turned into values: a few
            // hundred bytes of nested aliases would expand to billions of them.
            if let node, size(of: node, upTo: maxValues) > maxValues {
                throw SpecProblems(file: shownPath, "expands to more than \(maxValues) values (aliases of aliases?): refused")
            }
            value = node?.any
        } catch let problems as SpecProblems {
            throw problems
        } catch {
            throw SpecProblems(file: shownPath, "not valid YAML or JSON: \(oneLine(error))")
        }
        if value == nil, allowEmpty { return [:] }
        guard let mapping = value as? [String: Any] else { throw SpecProblems(file: shownPath, "expected \(expected)") }
        return mapping
    }

    /// The most values a configuration or spec file may hold once its aliases are expanded.
    static let maxValues = 100_000

    /// How many values `node` holds with its aliases expanded, counted no further than past `limit`.
    static func size(of node: Node, upTo limit: Int) -> Int {
        var count = 0
        var pending = [node]
        while let next = pending.popLast(), count <= limit {
            count += 1
            switch next {
            case .mapping(let mapping):
                for pair in mapping {
                    pending.append(pair.key)
                    pending.append(pair.value)
                }
            case .sequence(let sequence): pending.append(contentsOf: sequence)
            case .scalar, .alias: break
            }
        }
        return count
    }

    /// A parser's multi-line message as one line.
    static func oneLine(_ error: any Error) -> String {
        let line = String(describing: error).split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .joined(separator: " ")
        // The parser quotes the offending line, which may be the whole file.
        return line.count > 240 ? String(line.prefix(240)) + "…" : line
    }
}
