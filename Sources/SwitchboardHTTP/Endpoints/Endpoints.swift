import Atomics
import Foundation
package import NIOCore
import NIOHTTP1
package import SwitchboardCore

/// The request/response endpoints: publishing (`/pub`), the server API (`/api`), stats and health.
/// Each takes a complete request and returns a complete answer.
package struct Endpoints {
    package let service: HTTPService
    package let allocator: ByteBufferAllocator

    /// The answer to `route`: at once, or — for what goes through the hub's engine (publishing, deleting,
    /// reading a channel another node may hold) — when the hub has it (at once too without an engine).
    package func answer(_ route: Route, request: HTTPRequest, on eventLoop: any EventLoop) -> FrontEndAnswer {
        let answer: () throws -> EventLoopFuture<HTTPResponse>
        switch route {
        case .publish(let channel): answer = { try publish(channel, request: request, on: eventLoop) }
        case .channelInfo(let channel): answer = { channelInfo(channel, on: eventLoop) }
        case .deleteChannel(let channel): answer = { deleteChannel(channel, on: eventLoop) }
        case .apiPublish: answer = { try apiPublish(request, on: eventLoop) }
        case .apiBroadcast: answer = { try apiBroadcast(request, on: eventLoop) }
        case .apiHistory(let channel): answer = { try apiHistory(channel, request: request, on: eventLoop) }
        default: return .respond(handle(route, request: request))
        }
        let allocator = allocator
        do {
            return .await(try answer().recover { Self.errorResponse($0, allocator: allocator) })
        } catch {
            return .respond(Self.errorResponse(error, allocator: allocator))
        }
    }

    /// The answer to a route that needs no waiting.
    package func handle(_ route: Route, request: HTTPRequest) -> HTTPResponse {
        switch route {
        case .apiChannels: return apiChannels()
        case .stats: return stats()
        case .health: return health()
        case .asset(let path): return asset(path, request: request)
        case .publish, .channelInfo, .deleteChannel, .apiPublish, .apiBroadcast, .apiHistory:
            preconditionFailure("route \(route) is answered through answer(_:request:on:)")
        case .subscribe, .echo:
            preconditionFailure("streaming route \(route) reached the endpoints")
        }
    }

    /// The answer to what an endpoint threw: its own error, the hub's refusal, or a `400`.
    package static func errorResponse(_ error: any Error, allocator: ByteBufferAllocator) -> HTTPResponse {
        switch error {
        case let error as HTTPError: .error(error, allocator: allocator)
        case let refusal as HubRefusal: .error(HTTPError(refusal), allocator: allocator)
        default: .error(.badRequest("bad_request", "\(error)"), allocator: allocator)
        }
    }

    // MARK: /pub

    private func publish(
        _ channel: ChannelName,
        request: HTTPRequest,
        on eventLoop: any EventLoop
    ) throws -> EventLoopFuture<HTTPResponse> {
        let headers = request.head.headers
        let publish = PublishRequest(
            payload: request.body ?? ByteBuffer(),
            contentType: headers.first(name: "content-type"),
            eventType: headers.first(name: "event-type").flatMap { $0.isEmpty ? nil : $0 }
        )
        return service.hub.publish(publish, to: channel, on: eventLoop).map { [allocator] result in
            var json = JSONWriter(allocator: allocator)
            Self.writePublishResult(result, into: &json)
            return .json(.ok, json)
        }
    }

    private func channelInfo(_ channel: ChannelName, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPResponse> {
        service.hub.info(channel, on: eventLoop).flatMapThrowing { [allocator] info in
            guard let info else { throw Self.noSuchChannel(channel) }
            var json = JSONWriter(allocator: allocator)
            Self.writeInfo(info, into: &json)
            return .json(.ok, json)
        }
    }

    private func deleteChannel(_ channel: ChannelName, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPResponse> {
        service.hub.deleteChannel(channel, on: eventLoop).flatMapThrowing { [allocator] closed in
            guard let closed else { throw Self.noSuchChannel(channel) }
            var json = JSONWriter(allocator: allocator)
            json.beginObject()
            json.string("channel", channel.rawValue)
            json.bool("deleted", true)
            json.integer("subscribers_closed", closed)
            json.endObject()
            return .json(.ok, json)
        }
    }

    package static func noSuchChannel(_ channel: ChannelName) -> HTTPError {
        HTTPError(status: .notFound, code: "no_such_channel", message: "channel \(channel) does not exist")
    }

    // MARK: /api

    private func apiPublish(_ request: HTTPRequest, on eventLoop: any EventLoop) throws -> EventLoopFuture<HTTPResponse>
    {
        let object = try jsonObject(request)
        let channel = try channelField(object["channel"])
        return service.hub.publish(try publishRequest(from: object), to: channel, on: eventLoop).map {
            [allocator] result in
            var json = JSONWriter(allocator: allocator)
            Self.writePublishResult(result, into: &json)
            return .json(.ok, json)
        }
    }

    private func apiBroadcast(
        _ request: HTTPRequest,
        on eventLoop: any EventLoop
    ) throws -> EventLoopFuture<HTTPResponse> {
        let object = try jsonObject(request)
        guard let names = object["channels"] as? [Any], !names.isEmpty else {
            throw HTTPError.badRequest("invalid_request", "\"channels\" must be a non-empty array of channel names")
        }
        let channels = try names.map(channelField)
        let publishRequest = try publishRequest(from: object)
        // Every channel is tried: a refusal (the memory budget, the channel limit) does not hide which
        // channels did get the message. Any refusal makes the status the first one's, with every result.
        let publishes = channels.map { service.hub.publish(publishRequest, to: $0, on: eventLoop) }
        return EventLoopFuture.whenAllComplete(publishes, on: eventLoop).map { [allocator] outcomes in
            Self.broadcastAnswer(channels: channels, outcomes: outcomes, allocator: allocator)
        }
    }

    private static func broadcastAnswer(
        channels: [ChannelName],
        outcomes: [Result<PublishResult, any Error>],
        allocator: ByteBufferAllocator
    ) -> HTTPResponse {
        var results: [Result<PublishResult, HTTPError>] = []
        var firstError: HTTPError?
        for outcome in outcomes {
            switch outcome {
            case .success(let published): results.append(.success(published))
            case .failure(let error):
                let refused =
                    (error as? HubRefusal).map { HTTPError($0) }
                    ?? HTTPError(status: .internalServerError, code: "internal", message: "\(error)")
                firstError = firstError ?? refused
                results.append(.failure(refused))
            }
        }
        var json = JSONWriter(allocator: allocator)
        json.beginObject()
        if let firstError {
            json.string("error", firstError.message)
            json.string("code", firstError.code)
        }
        json.beginArray("results")
        for (channel, result) in zip(channels, results) {
            switch result {
            case .success(let published):
                Self.writePublishResult(published, into: &json)
            case .failure(let error):
                json.beginObject()
                json.string("channel", channel.rawValue)
                json.string("error", error.message)
                json.string("code", error.code)
                json.endObject()
            }
        }
        json.endArray()
        json.endObject()
        return .json(firstError?.status ?? .ok, json)
    }

    private func apiChannels() -> HTTPResponse {
        var json = JSONWriter(allocator: allocator)
        json.beginObject()
        json.beginArray("channels")
        // Hidden channels (`$user:NAME`, which carry /api/send) are not listed.
        for info in service.hub.allChannels() where !info.channel.rawValue.hasPrefix("$") {
            Self.writeInfo(info, into: &json)
        }
        json.endArray()
        json.endObject()
        return .json(.ok, json)
    }

    private func apiHistory(
        _ channel: ChannelName,
        request: HTTPRequest,
        on eventLoop: any EventLoop
    ) throws -> EventLoopFuture<HTTPResponse> {
        var since: StreamPosition?
        if let text = request.target.parameter("since"), !text.isEmpty {
            guard let position = StreamPosition(parsing: text) else {
                throw HTTPError.badRequest("invalid_position", "since must be EPOCH:OFFSET")
            }
            since = position
        }
        var limit = Int.max
        if let text = request.target.parameter("limit") {
            guard let value = Int(text), value >= 0 else {
                throw HTTPError.badRequest("invalid_limit", "limit must be a non-negative integer")
            }
            limit = value
        }
        return service.hub.history(of: channel, since: since, limit: limit, on: eventLoop).flatMapThrowing {
            [allocator] page in
            guard let page else { throw Self.noSuchChannel(channel) }
            return Self.historyAnswer(page, channel: channel, allocator: allocator)
        }
    }

    private static func historyAnswer(
        _ page: HistoryPage,
        channel: ChannelName,
        allocator: ByteBufferAllocator
    ) -> HTTPResponse {
        var json = JSONWriter(allocator: allocator)
        json.beginObject()
        json.string("channel", channel.rawValue)
        json.string("last_id", page.lastPosition.description)
        json.string("gap", page.gap?.rawValue)
        json.beginArray("messages")
        for message in page.messages {
            json.beginObject()
            json.string("id", message.position.description)
            json.int64("time", message.timestamp)
            json.string("content_type", message.contentType)
            json.string("event", message.eventType)
            if let text = message.text {
                json.string("data", text)
            } else {
                json.string("b64data", Base64.encode(message.payload.readableBytesView))
            }
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return .json(.ok, json)
    }

    // MARK: Stats and health

    private func stats() -> HTTPResponse {
        let statistics = service.hub.statistics()
        let counters = service.counters
        var json = JSONWriter(allocator: allocator)
        json.beginObject()
        json.double("uptime_seconds", Double((NIODeadline.now() - service.startedAt).nanoseconds) / 1e9)
        json.beginObject("connections")
        json.integer("http", counters.http.load(ordering: .relaxed))
        json.integer("websocket", counters.webSocket.load(ordering: .relaxed))
        json.integer("sse", counters.sse.load(ordering: .relaxed))
        json.integer("stream", counters.stream.load(ordering: .relaxed))
        json.integer("longpoll", counters.longPoll.load(ordering: .relaxed))
        json.integer("native", counters.native.load(ordering: .relaxed))
        json.endObject()
        json.integer("channels", statistics.channels)
        json.integer("subscribers", statistics.subscribers)
        json.beginObject("messages")
        json.integer("published", statistics.published)
        json.integer("delivered", statistics.delivered)
        json.endObject()
        for frontEnd in service.frontEnds { frontEnd.writeStatistics(into: &json) }
        let memory = service.hub.memory
        json.beginObject("memory")
        json.integer("rss_bytes", ProcessMemory.residentBytes())
        // limits.max_memory: what histories, queues and open transactions hold, and the publishes refused.
        json.integer("retained_bytes", memory.used)
        json.integer("retained_limit", memory.limit)
        json.integer("retained_client_limit", memory.clientLimit)
        for account in MemoryBudget.Account.allCases {
            json.integer("retained_\(account.name)", memory.used(by: account))
        }
        json.integer("refused", memory.refusedCount)
        json.endObject()
        json.endObject()
        return .json(.ok, json)
    }

    private func health() -> HTTPResponse {
        let shuttingDown = service.connections.isShuttingDown
        // A node whose shared engine is unreachable still serves its subscribers (200), but refuses
        // publishes: "degraded", with the reason. Every node shares the engine, so sending the traffic
        // elsewhere would not help.
        let engineProblem = service.hub.engine?.unavailableReason
        var json = JSONWriter(allocator: allocator)
        json.beginObject()
        json.string("status", shuttingDown ? "shutting-down" : engineProblem != nil ? "degraded" : "ok")
        if service.hub.engine != nil {
            json.beginObject("engine")
            json.string("type", "redis")
            json.bool("up", engineProblem == nil)
            json.string("reason", engineProblem)
            json.endObject()
        }
        json.endObject()
        return .json(shuttingDown ? .serviceUnavailable : .ok, json)
    }

    // MARK: Helpers

    package func jsonObject(_ request: HTTPRequest) throws -> [String: Any] {
        guard let body = request.body, body.readableBytes > 0,
            let object = try? JSONSerialization.jsonObject(
                with: Data(body.readableBytesView),
                options: [.fragmentsAllowed]
            ) as? [String: Any]
        else {
            throw HTTPError.badRequest("invalid_json", "the body must be a JSON object")
        }
        return object
    }

    package func channelField(_ value: Any?) throws -> ChannelName {
        guard let name = value as? String else {
            throw HTTPError.badRequest("invalid_channel", "\"channel\" must be a string")
        }
        do {
            return try ChannelName(validating: name, maxLength: service.configuration.maxChannelNameLength)
        } catch {
            throw HTTPError.badRequest("invalid_channel", error.description)
        }
    }

    /// `data` as text (a JSON string) or JSON (anything else), or `b64data` as binary.
    package func publishRequest(from object: [String: Any]) throws -> PublishRequest {
        do {
            return try JSONPublishFields.request(from: object, maxMessageSize: service.configuration.maxMessageSize)
        } catch .invalidBase64 {
            throw HTTPError.badRequest("invalid_b64data", "b64data is not base64")
        } catch .missingData {
            throw HTTPError.badRequest("invalid_request", "\"data\" or \"b64data\" is required")
        } catch .tooLarge(let limit) {
            throw HTTPError.payloadTooLarge(limit: limit)
        }
    }

    package static func writePublishResult(_ result: PublishResult, into json: inout JSONWriter) {
        json.beginObject()
        json.string("id", result.message.position.description)
        json.string("channel", result.message.channel.rawValue)
        json.integer("subscribers", result.subscribers)
        json.endObject()
    }

    package static func writeInfo(_ info: ChannelInfo, into json: inout JSONWriter) {
        json.beginObject()
        json.string("channel", info.channel.rawValue)
        json.integer("messages", info.messages)
        json.integer("subscribers", info.subscribers)
        json.string("last_id", info.lastPosition.description)
        json.string("first_id", info.firstPosition?.description)
        json.integer("published", info.published)
        json.endObject()
    }
}

/// The process's resident memory, from `/proc/self/statm` (Linux); 0 where unavailable.
package enum ProcessMemory {
    package static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
