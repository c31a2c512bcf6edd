public import ProjectorCore

/// An API key as the host keeps it: what it may do and on which indexes. Its secret is never
/// stored, only the secret's SHA-256.
public struct APIKey: Sendable, Codable, Equatable {
    /// What a key may do; `admin` may do everything.
    public enum Action: String, Sendable, Codable, CaseIterable {
        case search, status, append, admin

        /// Actions by name; an unknown one is an error naming the known ones.
        public static func parse(_ names: [String]) throws(ProjectorError) -> [Action] {
            try names.map { name throws(ProjectorError) in
                guard let action = Action(rawValue: name) else {
                    let known = allCases.map(\.rawValue).joined(separator: ", ")
                    throw ProjectorError(.invalidQuery, "unknown action '\(name)' (known: \(known))")
                }
                return action
            }
        }
    }

    /// Public: it names the key in lists, logs and tenant tokens.
    public var id: String
    public var name: String
    public var actions: [Action]
    /// Index names or patterns (`*`, `docs-*`) the key may search.
    public var indexes: [String]
    public var createdAt: String
    public var revokedAt: String?

    public func allows(_ action: Action) -> Bool { actions.contains(action) || actions.contains(.admin) }

    public func covers(index: String) -> Bool { indexes.contains { Self.matches($0, index) } }

    /// The id a key's secret carries (nil: not a key's secret).
    public static func id(ofSecret secret: String) -> String? {
        guard secret.hasPrefix(KeyStore.prefix) else { return nil }
        let parts = secret.dropFirst(KeyStore.prefix.count).split(separator: "_", maxSplits: 1)
        return parts.count == 2 && parts[0].count == 12 ? String(parts[0]) : nil
    }

    /// `*` matches any name, `docs-*` any starting with `docs-`, anything else itself.
    static func matches(_ pattern: String, _ name: String) -> Bool {
        if pattern.hasSuffix("*") { return name.hasPrefix(pattern.dropLast()) }
        return pattern == name
    }
}
