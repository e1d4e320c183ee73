package import NIOCore

/// An object that lives on one event loop (a connection, a session): its state is touched only there.
package protocol EventLoopConfined: AnyObject, SendableMetatype {
    /// The object's loop; immutable, so it may be read from any thread.
    var eventLoop: any EventLoop { get }
}

/// An ``EventLoopConfined`` object as a registry on any thread keeps it: the only way in is ``execute(_:)``,
/// which runs on the object's loop. Unlike `NIOLoopBound`, it may be held and compared off the loop.
package struct LoopBoundReference<Object: EventLoopConfined>: @unchecked Sendable {
    // @unchecked: `object` is only touched on `eventLoop`, inside `execute`.
    private let object: Object
    package let eventLoop: any EventLoop

    package init(_ object: Object) {
        self.object = object
        self.eventLoop = object.eventLoop
    }

    /// The object's identity, usable as a key off its loop.
    package var id: ObjectIdentifier { ObjectIdentifier(object) }

    /// The object itself, for code already on its loop (checked).
    package var value: Object {
        eventLoop.preconditionInEventLoop()
        return object
    }

    /// Runs `body` with the object on its event loop (at once when already there).
    package func execute(_ body: @escaping @Sendable (Object) -> Void) {
        if eventLoop.inEventLoop {
            body(object)
        } else {
            eventLoop.execute { body(self.object) }
        }
    }
}
