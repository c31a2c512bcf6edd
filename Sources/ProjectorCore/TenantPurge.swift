/// The event that removes a tenant's data from every projection that honours it: partitioned
/// search indexes delete the tenant's documents, SQL specs may handle it (`:tenant`). It stays
/// in the log, so a rebuild from zero purges the tenant again at the same point.
public enum TenantPurge {
    public static let type = "$TenantPurged"

    /// The purge of `tenant`, to append; its stream is the tenant's own purge stream.
    public static func event(_ tenant: String) -> ProposedEvent {
        let quoted = JSONString.quote(tenant)
        return ProposedEvent(stream: "$tenant-" + tenant, type: type, data: "{\"tenant\":\(quoted)}", metadata: "{\"tenant\":\(quoted)}")
    }
}
