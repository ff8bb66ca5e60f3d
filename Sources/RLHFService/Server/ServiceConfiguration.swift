import Foundation

/// How `rlhf serve` listens and for how long it lends tasks and keeps sign-ins.
///
/// The defaults listen on the loopback address only: to let colleagues on other machines in,
/// pass `host: "0.0.0.0"` (and put the service behind TLS, since tokens travel in headers).
public struct ServiceConfiguration: Sendable, Equatable {
    /// The address the server binds to (default `127.0.0.1`, this machine only).
    public var host: String
    /// The TCP port (default 8080; 0 picks a free one, which the server reports when running).
    public var port: Int
    /// How long a task handed out by `GET /api/projects/{project}/next` stays leased to its
    /// annotator before its slot returns to the queue (default 600 s).
    public var leaseSeconds: Int
    /// How long a page sign-in (`POST /login`) lasts (default 12 hours).
    public var sessionLifetimeSeconds: Int
    /// The largest body of `POST /api/projects/{project}/comparisons` (default 8 MiB).
    public var maximumSubmitBodyBytes: Int
    /// The largest body of every other route (default 16 KiB).
    public var maximumBodyBytes: Int

    /// A configuration; every argument has the documented default.
    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        leaseSeconds: Int = 600,
        sessionLifetimeSeconds: Int = 12 * 3600,
        maximumSubmitBodyBytes: Int = 8 << 20,
        maximumBodyBytes: Int = 16 << 10
    ) {
        self.host = host
        self.port = port
        self.leaseSeconds = leaseSeconds
        self.sessionLifetimeSeconds = sessionLifetimeSeconds
        self.maximumSubmitBodyBytes = maximumSubmitBodyBytes
        self.maximumBodyBytes = maximumBodyBytes
    }
}
