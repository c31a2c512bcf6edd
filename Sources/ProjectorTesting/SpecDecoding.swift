public import ProjectorCore

/// Decodes a spec from `values` as the spec layer decodes a file holding them.
public func decodeSpec<T: Decodable>(_ type: T.Type, _ values: [String: Any], file: String = "test.yml") throws -> T {
    try SpecProblems.decode(type, json: SpecProblems.canonicalJSON(values), file: file)
}
