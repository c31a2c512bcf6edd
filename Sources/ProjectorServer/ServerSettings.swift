/// Where and how ``ProjectorServer`` listens, and the token its admin routes take.
public struct ServerSettings: Sendable, Equatable {
    public var host: String
    /// 0: any free port.
    public var port: Int
    /// How long a connection may sit with no request in flight.
    public var idleTimeout: Duration
    /// How long a request may take to arrive whole once its head has.
    public var requestTimeout: Duration
    /// Admin routes (rebuild, redrive, append) are closed without one.
    public var adminToken: String?

    public init(
        host: String = "127.0.0.1", port: Int = 8080, idleTimeout: Duration = .seconds(30), requestTimeout: Duration = .seconds(10),
        adminToken: String? = nil
    ) {
        self.host = host
        self.port = port
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
        self.adminToken = adminToken
    }
}
