import SwitchboardCore

extension Endpoints {
    /// `GET /api/presence/{channel}`: who is on the channel (native-protocol connections).
    func apiPresence(_ channel: ChannelName) throws -> HTTPResponse {
        guard let members = service.hub.presence(of: channel) else { throw Self.noSuchChannel(channel) }
        var json = JSONWriter(allocator: allocator)
        json.beginObject()
        json.string("channel", channel.rawValue)
        NativeConnectionHandler.writeMembers(members, into: &json)
        json.endObject()
        return .json(.ok, json)
    }

    /// `POST /api/send` `{"user": "...", "data"|"b64data": ..., "event"?, "content_type"?}`: a message to every
    /// native-protocol connection of the user (it arrives on their hidden channel `$user:NAME`).
    func apiSend(_ request: HTTPHandler.Request) throws -> HTTPResponse {
        let object = try jsonObject(request)
        let user = try userField(object["user"])
        let result = service.hub.publish(
            try publishRequest(from: object),
            to: NativeConnectionHandler.userChannel(user)
        )
        var json = JSONWriter(allocator: allocator)
        json.beginObject()
        json.string("user", user)
        json.string("id", result.message.position.description)
        json.integer("connections", result.subscribers)
        json.endObject()
        return .json(.ok, json)
    }

    /// `POST /api/disconnect` `{"user": "..."}`: ends every native-protocol connection of the user (close
    /// code 4004, after a `disconnect` push).
    func apiDisconnect(_ request: HTTPHandler.Request) throws -> HTTPResponse {
        let user = try userField(try jsonObject(request)["user"])
        let count = service.users.disconnect(user)
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
