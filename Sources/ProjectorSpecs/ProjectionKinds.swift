public import ProjectorCore

/// The projection kinds a host reads spec files of, by their `kind:` name.
public struct ProjectionKinds: Sendable {
    /// `sql` and `search`.
    public static let standard = ProjectionKinds([SQLKind(), SearchKind()])

    private var byName: [ProjectionKindName: any ProjectionKind]
    /// Names in registration order, for messages.
    public private(set) var names: [ProjectionKindName]

    public init(_ kinds: [any ProjectionKind]) {
        byName = [:]
        names = []
        for kind in kinds { register(kind) }
    }

    /// Adds `kind`, replacing a kind of the same name.
    public mutating func register(_ kind: any ProjectionKind) {
        if byName.updateValue(kind, forKey: kind.name) == nil { names.append(kind.name) }
    }

    /// These kinds and `kind`.
    public func adding(_ kind: any ProjectionKind) -> ProjectionKinds {
        var kinds = self
        kinds.register(kind)
        return kinds
    }

    public func kind(named name: ProjectionKindName) -> (any ProjectionKind)? { byName[name] }

    /// The kind a spec's `kind:` field names; an error naming the file and the known kinds.
    func kind(of spec: SpecFile) throws -> any ProjectionKind {
        let value = spec.kind
        if let value, let kind = byName[value] { return kind }
        let names = names.map(\.rawValue)
        let known = names.count <= 2 ? names.joined(separator: " or ") : "one of " + names.joined(separator: ", ")
        throw SpecProblems(file: spec.path, field: "kind", "must be \(known)\(value.map { ", found '\($0)'" } ?? " (missing)")")
    }
}
