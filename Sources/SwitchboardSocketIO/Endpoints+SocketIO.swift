import Foundation
import NIOCore
import NIOHTTP1
import SwitchboardCore
import SwitchboardHTTP

extension Endpoints {
    /// `GET /api/socketio/sockets[?namespace=/&room=X]`: the connected Socket.IO sockets —
    /// `{"sockets": [{"sid", "namespace", "user", "transport", "rooms", "connected_at"}]}`.
    func apiSocketIOSockets(
        _ request: HTTPRequest,
        server: EngineIOServer,
        on eventLoop: any EventLoop
    ) throws -> EventLoopFuture<
        HTTPResponse
    > {
        let room = try request.target.parameter("room").map { try channelField($0) }
        let allocator = self.allocator
        return server.sockets.infos(namespace: request.target.parameter("namespace"), room: room, on: eventLoop)
            .map { Self.socketList($0, allocator: allocator) }
    }

    private static func socketList(_ infos: [SocketIORegistry.Info], allocator: ByteBufferAllocator) -> HTTPResponse {
        var json = JSONWriter(allocator: allocator)
        json.beginObject()
        json.beginArray("sockets")
        for info in infos {
            json.beginObject()
            json.string("sid", info.sid)
            json.string("namespace", info.namespace)
            json.string("user", info.user)
            json.string("transport", info.transport)
            json.beginArray("rooms")
            for room in info.rooms { json.string(nil, room) }
            json.endArray()
            json.int64("connected_at", info.connectedAt)
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return .json(.ok, json)
    }

    /// `POST /api/socketio/emit`: `{"event": "news", "sid"|"user"|"room": ..., "namespace": "/", ...}`.
    /// To a room — a channel — `data` is published there (with `event` as its event type), so every
    /// transport's subscribers get it and it stays in history: `{"room", "id", "subscribers"}`. To a socket
    /// or a user's sockets, `args` (or `data` as the one argument) are emitted as they are: `{"sockets": N}`;
    /// with `"ack": true` the answer waits up to `timeout` seconds (default 5) for the clients'
    /// acknowledgements: `{"sockets": N, "acks": [[args...], ...]}` (504 `ack_timeout` when none came).
    func apiSocketIOEmit(
        _ request: HTTPRequest,
        server: EngineIOServer,
        on eventLoop: any EventLoop
    ) throws -> EventLoopFuture<
        HTTPResponse
    > {
        let object = try jsonObject(request)
        guard let event = object["event"] as? String, !event.isEmpty, event.utf8.count <= 255,
            !SocketIOPacket.reservedEvents.contains(event)
        else {
            throw HTTPError.badRequest(
                "invalid_event",
                "\"event\" (a string of 1 to 255 bytes, not reserved) is required"
            )
        }
        if let room = object["room"] as? String {
            return eventLoop.makeSucceededFuture(try emitToRoom(room, event: event, object: object))
        }
        let namespace = object["namespace"] as? String
        let targets: [SocketIORegistry.Reference]
        if let sid = object["sid"] as? String {
            targets = server.sockets.socket(sid: sid).map { [$0] } ?? []
        } else if let user = object["user"] as? String {
            targets = server.sockets.sockets(ofUser: user, namespace: namespace)
        } else {
            throw HTTPError.badRequest("invalid_request", "\"room\", \"sid\" or \"user\" is required")
        }
        let arguments: [Any]
        if let args = object["args"] {
            guard let array = args as? [Any] else {
                throw HTTPError.badRequest("invalid_request", "\"args\" is an array")
            }
            arguments = array
        } else {
            arguments = object["data"].map { [$0] } ?? []
        }
        let boxed = BackendHook.Object(value: ["args": arguments])
        let wantsAck = object["ack"] as? Bool ?? false
        guard wantsAck else {
            for target in targets { target.execute { $0.emit(event, boxed.value["args"] as? [Any] ?? [], ack: nil) } }
            return eventLoop.makeSucceededFuture(Self.emitted(count: targets.count, acks: nil, allocator: allocator))
        }
        let seconds = (object["timeout"] as? NSNumber)?.doubleValue ?? 5
        guard seconds > 0, seconds <= 60 else {
            throw HTTPError.badRequest("invalid_request", "\"timeout\" is from 0 to 60 seconds")
        }
        guard !targets.isEmpty else {
            throw HTTPError(status: .notFound, code: "no_such_target", message: "no Socket.IO socket to emit to")
        }
        let answers = targets.map { target -> EventLoopFuture<String?> in
            let (id, answer) = service.calls.start(on: eventLoop, timeout: .milliseconds(Int64(seconds * 1000)))
            target.execute { $0.emit(event, boxed.value["args"] as? [Any] ?? [], ack: id) }
            return answer.map { answer -> String? in
                if case .result(let json) = answer { return json }
                return nil
            }.recover { _ in nil }
        }
        let allocator = self.allocator
        let count = targets.count
        return EventLoopFuture.whenAllSucceed(answers, on: eventLoop).map { results in
            let acks = results.compactMap { $0 }
            guard !acks.isEmpty else {
                return .error(
                    HTTPError(
                        status: .gatewayTimeout,
                        code: "ack_timeout",
                        message: "no acknowledgement within \(seconds) s"
                    ),
                    allocator: allocator
                )
            }
            return Self.emitted(count: count, acks: acks, allocator: allocator)
        }
    }

    private func emitToRoom(_ room: String, event: String, object: [String: Any]) throws -> HTTPResponse {
        let channel = try channelField(room)
        var fields = object
        fields["event"] = event
        let publish: PublishRequest
        do {
            publish = try JSONPublishFields.request(from: fields, maxMessageSize: service.configuration.maxMessageSize)
        } catch {
            throw HTTPError.badRequest("invalid_request", error.message)
        }
        let result: PublishResult
        do {
            result = try service.hub.publish(publish, to: channel)
        } catch {
            throw HTTPError(error)
        }
        var json = JSONWriter(allocator: allocator)
        json.beginObject()
        json.string("room", channel.rawValue)
        json.string("id", result.message.position.description)
        json.integer("subscribers", result.subscribers)
        json.endObject()
        return .json(.ok, json)
    }

    private static func emitted(count: Int, acks: [String]?, allocator: ByteBufferAllocator) -> HTTPResponse {
        var json = JSONWriter(allocator: allocator)
        json.beginObject()
        json.integer("sockets", count)
        if let acks {
            json.beginArray("acks")
            for ack in acks { json.raw(nil, ByteBuffer(string: ack)) }
            json.endArray()
        }
        json.endObject()
        return .json(.ok, json)
    }
}
