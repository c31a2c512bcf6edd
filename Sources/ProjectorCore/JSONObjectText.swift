/// Validation of the JSON objects events carry (`data`, `metadata`).
package enum JSONObjectText {
    /// Returns `text` as compact JSON if it is one JSON object; throws naming `field` otherwise.
    public static func validated(_ text: String, field: String) throws -> String {
        var copy = text
        return try copy.withUTF8 { bytes -> String in
            var scanner = JSONScanner(bytes, refusesDuplicateKeys: true)
            do {
                _ = try scanner.topLevelMembers()
                return scanner.sawAnyWhitespace ? scanner.compacted(0..<bytes.count) : text
            } catch let failure as JSONScanner.Failure {
                throw ProjectorError.invalidEvent("\(field) must be a JSON object: \(failure.message)")
            }
        }
    }

    /// The string value of a top-level key of a JSON object, when it is a string.
    public static func stringMember(_ key: String, of text: String) -> String? {
        member(key, of: text) { scanner, member in member.kind == .string ? scanner.string(of: member) : nil }
    }

    /// The raw JSON text of a top-level member (a number stays `12.5`, a string keeps its quotes).
    public static func rawMember(_ key: String, of text: String) -> String? {
        member(key, of: text) { scanner, member in scanner.raw(of: member) }
    }

    private static func member(
        _ key: String, of text: String, _ render: (JSONScanner, JSONScanner.Member) -> String?
    ) -> String? {
        var copy = text
        return copy.withUTF8 { bytes -> String? in
            var scanner = JSONScanner(bytes)
            guard let members = try? scanner.topLevelMembers(), let member = members.last(where: { $0.key == key })
            else { return nil }
            return render(scanner, member)
        }
    }
}
