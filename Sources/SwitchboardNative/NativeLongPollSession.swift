import DequeModule
import NIOCore
import NIOHTTP1
import SwitchboardCore
import SwitchboardHTTP

/// The long-poll fallback's transport for one ``NativeConnection``: replies and pushes wait in an outbox,
/// numbered; `GET /connection/poll?session=ID&ack=N` drops what the client already has (up to N) and
/// answers at once with the rest, or waits for output up to `channels.longpoll_timeout`. A poll answer lost
/// on the way is sent again by the next poll, so nothing is lost between polls. A session with no poll
/// waiting for `channels.longpoll_timeout` seconds has lost its client and ends. Confined to its event loop.
final class NativeLongPollSession: NativeTransport {
    let framing = NativeFraming.longPoll
    let id: String
    private let service: HTTPService
    private let native: NativeFrontEnd
    private let eventLoop: any EventLoop
    private(set) var connection: NativeConnection?
    /// Output the client has not acknowledged yet, with its sequence numbers.
    private var outbox: Deque<(sequence: UInt64, json: ByteBuffer)> = []
    private var outboxBytes = 0
    private var lastSequence: UInt64 = 0
    private var waiting: EventLoopPromise<HTTPResponse>?
    private var waitTimer: Scheduled<Void>?
    private var expiry: Scheduled<Void>?
    /// Set when the connection ended; the next poll gets its last messages and `"closed": true`.
    private var closed = false

    init(service: HTTPService, native: NativeFrontEnd, eventLoop: any EventLoop) {
        self.service = service
        self.native = native
        self.eventLoop = eventLoop
        self.id = RandomID.make(length: 32)
        let connection = NativeConnection(service: service, native: native, transport: self, eventLoop: eventLoop)
        self.connection = connection
        native.sessions.add(connection, id: id, longPoll: self)
        connection.writeSessionPush(id)
        scheduleExpiry()
    }

    private var timeout: TimeAmount { .milliseconds(Int64(service.configuration.longPollTimeout * 1000)) }

    /// A poll: everything after `ack`, now or when it comes (an empty list after the timeout).
    func poll(ack: UInt64, promise: EventLoopPromise<HTTPResponse>) {
        while let first = outbox.first, first.sequence <= ack {
            outboxBytes -= first.json.readableBytes
            outbox.removeFirst()
        }
        // A newer poll replaces one still waiting (its client gave up on it).
        if waiting != nil { answer() }
        expiry?.cancel()
        expiry = nil
        waiting = promise
        if !outbox.isEmpty || closed {
            answer()
            return
        }
        let session = NIOLoopBound(self, eventLoop: eventLoop)
        waitTimer = eventLoop.scheduleTask(in: timeout) { session.value.answer() }
    }

    /// Answers the waiting poll with the outbox.
    private func answer() {
        guard let promise = waiting else { return }
        waiting = nil
        waitTimer?.cancel()
        waitTimer = nil
        var body = service.allocator.buffer(capacity: 32 + outboxBytes + outbox.count)
        body.writeStaticString("{\"seq\":")
        body.writeString(String(lastSequence))  // the outbox ends with the last message written
        body.writeStaticString(",\"messages\":[")
        for (index, entry) in outbox.enumerated() {
            if index > 0 { body.writeStaticString(",") }
            body.writeImmutableBuffer(entry.json)
        }
        body.writeStaticString("]")
        if closed { body.writeStaticString(",\"closed\":true") }
        body.writeStaticString("}")
        promise.succeed(
            HTTPResponse(
                status: .ok,
                headers: [
                    "Content-Type": "application/json",
                    "Cache-Control": "no-cache",
                    "Access-Control-Allow-Origin": "*",
                ],
                body: body
            )
        )
        if closed {
            native.sessions.remove(id: id)
        } else {
            scheduleExpiry()
        }
    }

    private func scheduleExpiry() {
        let session = NIOLoopBound(self, eventLoop: eventLoop)
        expiry = eventLoop.scheduleTask(in: timeout) { session.value.expire() }
    }

    /// Nobody polled for a whole timeout: the client is gone.
    private func expire() {
        guard waiting == nil else { return }
        native.sessions.remove(id: id)
        closed = true
        connection?.end()
        connection = nil
    }

    // MARK: NativeTransport

    var allocator: ByteBufferAllocator { service.allocator }

    var isWritable: Bool { outboxBytes < service.configuration.maxOutboundBytes }

    func write(_ framed: ByteBuffer) {
        guard !closed else { return }
        lastSequence += 1
        outbox.append((lastSequence, framed))
        outboxBytes += framed.readableBytes
    }

    func flush() {
        if !outbox.isEmpty { answer() }
    }

    /// The waiting poll gets the last messages now; without one they wait for the next poll (or expiry,
    /// which is always scheduled while no poll waits).
    func close(code: UInt16, reason: String) {
        closed = true
        connection = nil
        answer()
    }
}
