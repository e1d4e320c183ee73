import Foundation
import NIOCore
import NIOHTTP1
import SwitchboardCore
import SwitchboardHTTP

extension Endpoints {
    /// `GET /api/presence/{channel}`: who is on the channel (native-protocol connections).
    func apiPresence(_ channel: ChannelName) throws -> HTTPResponse {
        guard let members = service.hub.presence(of: channel) else { throw Self.noSuchChannel(channel) }
        var json = JSONWriter(allocator: allocator)
        json.beginObject()
        json.string("channel", channel.rawValue)
        NativeConnection.writeMembers(members, into: &json)
        json.endObject()
        return .json(.ok, json)
    }

    /// `POST /api/send` `{"user": "...", "data"|"b64data": ..., "event"?, "content_type"?}`: a message to every
    /// native-protocol connection of the user (it arrives on their hidden channel `$user:NAME`).
    func apiSend(_ request: HTTPRequest, on eventLoop: any EventLoop) throws -> EventLoopFuture<HTTPResponse> {
        let object = try jsonObject(request)
        let user = try userField(object["user"])
        let publish = try publishRequest(from: object)
        return service.hub.publish(publish, to: NativeConnection.userChannel(user), on: eventLoop).map {
            [allocator] result in
            var json = JSONWriter(allocator: allocator)
            json.beginObject()
            json.string("user", user)
            json.string("id", result.message.position.description)
            json.integer("connections", result.subscribers)
            json.endObject()
            return .json(.ok, json)
        }.recover { [allocator] in Self.errorResponse($0, allocator: allocator) }
    }

    /// `POST /api/disconnect` `{"user": "..."}`: ends every native-protocol connection of the user (close
    /// code 4004, after a `disconnect` push).
    func apiDisconnect(_ request: HTTPRequest, native: NativeFrontEnd) throws -> HTTPResponse {
        let user = try userField(try jsonObject(request)["user"])
        let count = native.users.disconnect(user)
        var json = JSONWriter(allocator: allocator)
        json.beginObject()
        json.string("user", user)
        json.integer("connections", count)
        json.endObject()
        return .json(.ok, json)
    }

    private func userField(_ value: Any?) throws -> String {
        guard let user = value as? String, (1...255).contains(user.utf8.count) else {
            throw HTTPError.badRequest("invalid_user", "\"user\" must be a string of 1 to 255 bytes")
        }
        return user
    }
}

extension Endpoints {
    /// `POST /connection/send?session=ID`: commands (one JSON object, or an array of them) for a native
    /// connection on the SSE fallback; their replies come on its event stream. `202 {"accepted": N}`, or
    /// `404 no_such_session`. Not privileged: the session id, known only to its stream's reader, is the key.
    func nativeSend(_ request: HTTPRequest, native: NativeFrontEnd) throws -> HTTPResponse {
        guard let session = request.target.parameter("session"), !session.isEmpty else {
            throw HTTPError.badRequest("invalid_request", "?session= (from the stream's first event) is required")
        }
        guard let body = request.body, body.readableBytes > 0,
            let parsed = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))
        else {
            throw HTTPError.badRequest("invalid_json", "the body must be a command object or an array of them")
        }
        let items: [Any] = (parsed as? [Any]) ?? [parsed]
        var commands: [ByteBuffer] = []
        for item in items {
            guard let data = JSONText.encodeContainer(item) else {
                throw HTTPError.badRequest("invalid_json", "every command must be a JSON object")
            }
            commands.append(ByteBuffer(bytes: data))
        }
        guard native.sessions.send(commands, to: session) else {
            throw HTTPError(
                status: .notFound,
                code: "no_such_session",
                message: "no native session \(session.prefix(40))"
            )
        }
        var json = JSONWriter(allocator: allocator)
        json.beginObject()
        json.integer("accepted", commands.count)
        json.endObject()
        return HTTPResponse(
            status: .accepted,
            headers: ["Content-Type": "application/json", "Access-Control-Allow-Origin": "*"],
            body: json.buffer
        )
    }
}

extension Endpoints {
    /// `GET /connection/poll[?session=ID&ack=N]`: the native protocol's long-poll fallback. Without a
    /// session, starts one and answers at once with its first push (`{"push":"session"}`); with one,
    /// answers `{"seq": S, "messages": [...], "closed"?: true}` with everything after message `ack`, waiting
    /// up to `channels.longpoll_timeout` for something to send. `404 no_such_session` when it ended.
    func nativePoll(
        _ request: HTTPRequest,
        native: NativeFrontEnd,
        on eventLoop: any EventLoop
    ) throws -> EventLoopFuture<HTTPResponse> {
        guard let session = request.target.parameter("session") else {
            let promise = eventLoop.makePromise(of: HTTPResponse.self)
            NativeLongPollSession(service: service, native: native, eventLoop: eventLoop).poll(ack: 0, promise: promise)
            return promise.futureResult
        }
        guard let ack = UInt64(request.target.parameter("ack") ?? "0") else {
            throw HTTPError.badRequest("invalid_request", "?ack= must be a message sequence number")
        }
        guard let answer = native.sessions.poll(session, ack: ack, on: eventLoop) else {
            throw HTTPError(
                status: .notFound,
                code: "no_such_session",
                message: "no native session \(session.prefix(40))"
            )
        }
        return answer
    }
}
