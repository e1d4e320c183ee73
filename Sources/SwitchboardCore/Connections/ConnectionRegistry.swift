public import Atomics
public import NIOCore
import Synchronization

/// The open connections of one front end, kept so that shutdown can tell each of them to say its
/// protocol's goodbye (``GracefulShutdownEvent``) and wait for them to go.
public final class ConnectionRegistry: Sendable {
    private let open = Mutex<[ObjectIdentifier: any Channel]>([:])
    private let shuttingDown = ManagedAtomic<Bool>(false)

    /// Creates an empty registry.
    public init() {}

    /// Records `channel` until it closes, counting it in `counter` meanwhile (a counter rather than a
    /// closure: one allocation less per connection).
    public func add(_ channel: any Channel, counting counter: ManagedAtomic<Int>? = nil) {
        counter?.wrappingIncrement(ordering: .relaxed)
        open.withLock { $0[ObjectIdentifier(channel)] = channel }
        channel.closeFuture.whenComplete { _ in
            counter?.wrappingDecrement(ordering: .relaxed)
            _ = self.open.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
        }
    }

    /// Fires ``GracefulShutdownEvent`` into every open connection; returns how many were told.
    @discardableResult
    public func beginShutdown() -> Int {
        shuttingDown.store(true, ordering: .relaxed)
        let channels = open.withLock { Array($0.values) }
        for channel in channels {
            channel.pipeline.fireUserInboundEventTriggered(GracefulShutdownEvent())
        }
        return channels.count
    }

    /// Whether shutdown has begun.
    public var isShuttingDown: Bool { shuttingDown.load(ordering: .relaxed) }

    /// Connections still open.
    public var count: Int { open.withLock { $0.count } }
}

/// Fired into every connection's pipeline when the server starts shutting down.
public struct GracefulShutdownEvent: Sendable {
    /// Creates the event.
    public init() {}
}
