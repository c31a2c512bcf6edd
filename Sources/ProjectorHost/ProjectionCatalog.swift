public import GRDB
public import ProjectorCore

/// Every projection the host runs: the built-in Swift ones, then the spec files.
public enum ProjectionCatalog {
    /// Swift projections compiled into this binary.
    public static func builtIn() -> [any Projection<Database>] {
        [BankAccountsProjection()]
    }

    /// The projections for a configuration.
    public static func load(_ configuration: ProjectorConfiguration) throws -> [any Projection<Database>] {
        builtIn()
    }
}
