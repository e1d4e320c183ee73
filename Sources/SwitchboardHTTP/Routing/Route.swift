import NIOHTTP1
import SwitchboardCore

/// Where a request goes. Computed by ``Router`` from the method and path alone (no I/O).
enum Route: Equatable {
    case subscribe(channels: [ChannelName])
    case publish(ChannelName)
    case channelInfo(ChannelName)
    case deleteChannel(ChannelName)
    case apiPublish
    case apiBroadcast
    case apiChannels
    case apiHistory(ChannelName)
    case stats
    case health
    case echo
    /// STOMP over WebSocket.
    case stomp
    /// The native protocol over WebSocket.
    case native
    /// The native protocol's fallback: its stream (Server-Sent Events) and its commands (POST).
    case nativeSSE
    case nativeSend
    /// The native protocol's long-poll fallback: answers with the session's next replies and pushes.
    case nativePoll
    case apiQueues
    case apiPresence(ChannelName)
    case apiSend
    case apiDisconnect
    case apiCall
    /// `POST /api/socketio/emit`, `GET /api/socketio/sockets`.
    case apiSocketIOEmit
    case apiSocketIOSockets
    /// An Engine.IO endpoint: Socket.IO at `/socket.io/`, or the conformance echo at `/engine.io/`. Every
    /// method reaches it: it answers bad ones as the reference server does.
    case engineIO(EngineIOServer.Application)
    /// A bridged WebSocket (``BridgeService``): a named route, `/websockify` or `/tcp`.
    case bridge(String)
    /// A file served from the binary (``WebAssets``): switchboard.js, the chat pages.
    case asset(String)

    /// What the route exposes, which decides the checks a request gets (``RequestSecurity``).
    var exposure: RequestSecurity.Exposure {
        switch self {
        case .publish, .channelInfo, .deleteChannel, .apiPublish, .apiBroadcast, .apiChannels, .apiHistory, .stats,
            .apiQueues, .apiPresence, .apiSend, .apiDisconnect, .apiCall, .apiSocketIOEmit, .apiSocketIOSockets:
            return .privileged
        case .stomp, .native, .nativeSSE, .nativeSend, .nativePoll, .engineIO, .bridge:
            return .twoWay
        case .subscribe:
            return .subscribe
        case .health, .echo, .asset:
            return .open
        }
    }
}

/// Maps a request line to a ``Route`` or the ``HTTPError`` that answers it.
struct Router {
    let maxChannelNameLength: Int
    let maxChannelsPerSubscription: Int
    let echoEnabled: Bool
    /// Whether the STOMP broker runs (`/api/queues`).
    var stompEnabled = false
    /// Whether STOMP over WebSocket is served (`/stomp`).
    var stompWebSocket = false
    /// Whether the chat pages are served (`/`, `/stomp-chat`).
    var servesChat = true
    /// Whether Socket.IO is served at `/socket.io/`.
    var socketIO = false
    /// Whether the Engine.IO conformance echo is served at `/engine.io/`.
    var engineIOEcho = false
    /// The bridge's paths (exact matches, before every other route).
    var bridgePaths: Set<String> = []

    /// The paths of the chat application (the other assets are always served).
    static let chatPaths: Set<String> = ["/", "/stomp-chat", "/chat.css"]

    private func servesAsset(_ path: Substring) -> Bool {
        let path = String(path)
        return WebAssets.all[path] != nil && (servesChat || !Self.chatPaths.contains(path))
    }

    func route(method: HTTPMethod, path: Substring) -> Result<Route, HTTPError> {
        let segments = path.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        // `path` starts with "/", so segments[0] is empty.
        guard segments.count >= 2, segments[0].isEmpty else { return .failure(.notFound) }
        if !bridgePaths.isEmpty, bridgePaths.contains(String(path)) {
            if method != .GET { return .failure(.methodNotAllowed(allowed: [.GET])) }
            return .success(.bridge(String(path)))
        }
        let rest: Substring? = segments.count == 3 ? segments[2] : nil
        do {
            switch (segments[1], rest) {
            case ("sub", let rest?):
                try allow(method, [.GET])
                return .success(.subscribe(channels: try channelList(rest)))
            case ("pub", let rest?):
                let channel = try channelName(rest)
                switch method {
                case .POST: return .success(.publish(channel))
                case .GET, .HEAD: return .success(.channelInfo(channel))
                case .DELETE: return .success(.deleteChannel(channel))
                default: throw HTTPError.methodNotAllowed(allowed: [.GET, .POST, .DELETE])
                }
            case ("api", let rest?):
                return .success(try apiRoute(method: method, rest: rest))
            case ("stats", nil):
                try allow(method, [.GET])
                return .success(.stats)
            case ("healthz", nil):
                try allow(method, [.GET])
                return .success(.health)
            case ("echo", nil) where echoEnabled:
                try allow(method, [.GET])
                return .success(.echo)
            case ("connection", "websocket"):
                try allow(method, [.GET])
                return .success(.native)
            case ("connection", "sse"):
                try allow(method, [.GET])
                return .success(.nativeSSE)
            case ("connection", "send"):
                try allow(method, [.POST])
                return .success(.nativeSend)
            case ("connection", "poll"):
                try allow(method, [.GET])
                return .success(.nativePoll)
            case ("socket.io", nil), ("socket.io", ""):
                guard socketIO else { return .failure(.notFound) }
                return .success(.engineIO(.socketIO))
            case ("engine.io", nil), ("engine.io", ""):
                guard engineIOEcho else { return .failure(.notFound) }
                return .success(.engineIO(.echo))
            case ("stomp", nil) where stompWebSocket:
                try allow(method, [.GET])
                return .success(.stomp)
            case (_, nil) where servesAsset(path):
                // Files from the binary have one-segment paths; looked up last, off the publishing path.
                try allow(method, [.GET])
                return .success(.asset(String(path)))
            default:
                return .failure(.notFound)
            }
        } catch let error as HTTPError {
            return .failure(error)
        } catch {
            preconditionFailure("unexpected error \(error)")
        }
    }

    private func apiRoute(method: HTTPMethod, rest: Substring) throws -> Route {
        let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        switch (parts[0], parts.count) {
        case ("publish", 1):
            try allow(method, [.POST])
            return .apiPublish
        case ("broadcast", 1):
            try allow(method, [.POST])
            return .apiBroadcast
        case ("channels", 1):
            try allow(method, [.GET])
            return .apiChannels
        case ("presence", 2):
            try allow(method, [.GET])
            return .apiPresence(try channelName(parts[1]))
        case ("send", 1):
            try allow(method, [.POST])
            return .apiSend
        case ("disconnect", 1):
            try allow(method, [.POST])
            return .apiDisconnect
        case ("call", 1):
            try allow(method, [.POST])
            return .apiCall
        case ("socketio", 2) where socketIO && parts[1] == "emit":
            try allow(method, [.POST])
            return .apiSocketIOEmit
        case ("socketio", 2) where socketIO && parts[1] == "sockets":
            try allow(method, [.GET])
            return .apiSocketIOSockets
        case ("queues", 1) where stompEnabled:
            try allow(method, [.GET])
            return .apiQueues
        case ("history", 2):
            try allow(method, [.GET])
            return .apiHistory(try channelName(parts[1]))
        default:
            throw HTTPError.notFound
        }
    }

    private func allow(_ method: HTTPMethod, _ allowed: [HTTPMethod]) throws {
        guard allowed.contains(method) || (method == .HEAD && allowed.contains(.GET)) else {
            throw HTTPError.methodNotAllowed(allowed: allowed)
        }
    }

    func channelName(_ text: Substring) throws -> ChannelName {
        let decoded = PercentDecoding.decode(text) ?? String(text)
        do {
            return try ChannelName(validating: decoded, maxLength: maxChannelNameLength)
        } catch {
            throw HTTPError.badRequest("invalid_channel", error.description)
        }
    }

    func channelList(_ text: Substring) throws -> [ChannelName] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count <= maxChannelsPerSubscription else {
            throw HTTPError.badRequest(
                "too_many_channels",
                "\(parts.count) channels in one subscription; the limit is \(maxChannelsPerSubscription)"
            )
        }
        let channels = try parts.map { try channelName($0) }
        guard Set(channels).count == channels.count else {
            throw HTTPError.badRequest("duplicate_channel", "a channel appears twice in the subscription")
        }
        return channels
    }
}

/// `%XX` decoding of URL components (RFC 3986 §2.1).
enum PercentDecoding {
    /// The decoded text, or `nil` when an escape is malformed or the result is not UTF-8.
    static func decode(_ text: some StringProtocol, plusAsSpace: Bool = false) -> String? {
        guard text.utf8.contains(UInt8(ascii: "%")) || (plusAsSpace && text.utf8.contains(UInt8(ascii: "+"))) else {
            return String(text)
        }
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "+") && plusAsSpace {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// A request target: its path, and its query parameters read on demand. The query is scanned when a
/// parameter is asked for, not split up front: most requests ask for one or two parameters, and a poll
/// arrives many times a second per client.
struct RequestTarget {
    var path: Substring
    /// The query, without the `?`.
    private let queryText: Substring

    init(_ uri: String) {
        let full = Substring(uri)
        if let mark = full.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = full[..<mark]
            queryText = full[full.utf8.index(after: mark)...]
        } else {
            path = full
            queryText = ""
        }
    }

    /// The first parameter called `name` (`+` and `%XX` decoded in names and values). A byte scan over
    /// the query, with no intermediate arrays or strings.
    func parameter(_ name: String) -> String? {
        let utf8 = queryText.utf8
        var start = utf8.startIndex
        while start < utf8.endIndex {
            var end = start
            var equals: String.Index?
            while end < utf8.endIndex, utf8[end] != UInt8(ascii: "&") {
                if equals == nil, utf8[end] == UInt8(ascii: "=") { equals = end }
                utf8.formIndex(after: &end)
            }
            if Self.matches(queryText[start..<(equals ?? end)], name) {
                guard let equals else { return "" }
                let value = queryText[utf8.index(after: equals)..<end]
                return PercentDecoding.decode(value, plusAsSpace: true) ?? String(value)
            }
            start = end < utf8.endIndex ? utf8.index(after: end) : end
        }
        return nil
    }

    /// Whether a raw query key is `name` once decoded (without decoding when it has no escapes).
    private static func matches(_ key: Substring, _ name: String) -> Bool {
        if !key.utf8.contains(UInt8(ascii: "%")) && !key.utf8.contains(UInt8(ascii: "+")) {
            return key.utf8.elementsEqual(name.utf8)
        }
        return PercentDecoding.decode(key, plusAsSpace: true) == name
    }
}
