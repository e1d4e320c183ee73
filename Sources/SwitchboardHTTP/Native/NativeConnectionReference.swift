import NIOCore

/// A ``NativeConnection`` as the registries keep it: usable from any thread, because every use goes
/// through the connection's event loop.
struct NativeConnectionReference: @unchecked Sendable {
    // @unchecked: `connection` is only touched on `connection.eventLoop`, inside `execute`.
    private let connection: NativeConnection
    let eventLoop: any EventLoop

    init(_ connection: NativeConnection) {
        self.connection = connection
        self.eventLoop = connection.eventLoop
    }

    var id: ObjectIdentifier { ObjectIdentifier(connection) }

    /// Runs `body` with the connection on its event loop.
    func execute(_ body: @escaping @Sendable (NativeConnection) -> Void) {
        if eventLoop.inEventLoop {
            body(connection)
        } else {
            eventLoop.execute { body(self.connection) }
        }
    }
}
