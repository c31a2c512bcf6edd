/// A kind of projection by name (`sql`, `search`, `wasm`, `swift`, or a kind an application
/// registers): what status reports and the `kind:` of a spec file selects.
public struct ProjectionKindName: RawRepresentable, Hashable, Sendable, Codable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }

    public var description: String { rawValue }

    /// A projection written in Swift and compiled into its host.
    public static let swift: Self = "swift"
}
