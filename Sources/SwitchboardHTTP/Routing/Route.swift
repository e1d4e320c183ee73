package import NIOHTTP1
package import SwitchboardCore

/// Where a request for the HTTP pub/sub core goes (the front ends' routes are theirs: ``HTTPFrontEnd``).
/// Computed by ``Router`` from the method and path alone (no I/O).
package enum Route: Equatable {
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
    /// A file served from the binary (``WebAssets``): switchboard.js, the chat pages.
    case asset(String)

    /// What the route exposes, which decides the checks a request gets (``RequestSecurity``).
    package var exposure: RequestSecurity.Exposure {
        switch self {
        case .publish, .channelInfo, .deleteChannel, .apiPublish, .apiBroadcast, .apiChannels, .apiHistory, .stats:
            return .privileged
        case .subscribe:
            return .subscribe
        case .health, .echo, .asset:
            return .open
        }
    }
}

/// A routed request: one of the core's routes, or a front end's.
package enum RouteMatch {
    case core(Route)
    case frontEnd(FrontEndRoute)

    package var exposure: RequestSecurity.Exposure {
        switch self {
        case .core(let route): route.exposure
        case .frontEnd(let route): route.exposure
        }
    }

    /// Only `/healthz` answers while the server drains (it says so); everything else gets a `503`.
    package var answersWhileDraining: Bool {
        if case .core(.health) = self { true } else { false }
    }
}

/// Maps a request line to a ``RouteMatch`` or the ``HTTPError`` that answers it: the front ends first
/// (the bridge's exact paths win over everything), then the core's routes, the embedded files last.
package struct Router: Sendable {
    package let maxChannelNameLength: Int
    package let maxChannelsPerSubscription: Int
    package let echoEnabled: Bool
    /// Whether the chat pages are served (`/`, `/stomp-chat`).
    package var servesChat = true
    package var frontEnds: [any HTTPFrontEnd] = []

    /// The paths of the chat application (the other assets are always served).
    package static let chatPaths: Set<String> = ["/", "/stomp-chat", "/chat.css"]

    private func servesAsset(_ path: Substring) -> Bool {
        let path = String(path)
        return WebAssets.all[path] != nil && (servesChat || !Self.chatPaths.contains(path))
    }

    package func match(method: HTTPMethod, path: Substring) -> Result<RouteMatch, HTTPError> {
        guard let split = RoutePath(path) else { return .failure(.notFound) }
        for frontEnd in frontEnds {
            if let claim = frontEnd.claim(method, split) { return claim.map(RouteMatch.frontEnd) }
        }
        return route(method: method, split).map(RouteMatch.core)
    }

    /// The core's route (front ends not asked).
    package func route(method: HTTPMethod, path: Substring) -> Result<Route, HTTPError> {
        guard let split = RoutePath(path) else { return .failure(.notFound) }
        return route(method: method, split)
    }

    private func route(method: HTTPMethod, _ path: RoutePath) -> Result<Route, HTTPError> {
        do throws(HTTPError) {
            switch (path.first, path.rest) {
            case ("sub", let rest?):
                try Self.allow(method, [.GET])
                return .success(.subscribe(channels: try channelList(rest)))
            case ("pub", let rest?):
                let channel = try channelName(rest)
                switch method {
                case .POST: return .success(.publish(channel))
                case .GET, .HEAD: return .success(.channelInfo(channel))
                case .DELETE: return .success(.deleteChannel(channel))
                default: throw HTTPError.methodNotAllowed(allowed: [.GET, .POST, .DELETE])
                }
            case ("api", _?):
                return .success(try apiRoute(method: method, path))
            case ("stats", nil):
                try Self.allow(method, [.GET])
                return .success(.stats)
            case ("healthz", nil):
                try Self.allow(method, [.GET])
                return .success(.health)
            case ("echo", nil) where echoEnabled:
                try Self.allow(method, [.GET])
                return .success(.echo)
            case (_, nil) where servesAsset(path.full):
                // Files from the binary have one-segment paths; looked up last, off the publishing path.
                try Self.allow(method, [.GET])
                return .success(.asset(String(path.full)))
            default:
                return .failure(.notFound)
            }
        } catch {
            return .failure(error)
        }
    }

    private func apiRoute(method: HTTPMethod, _ path: RoutePath) throws(HTTPError) -> Route {
        guard let (name, argument) = path.apiEndpoint else { throw HTTPError.notFound }
        switch (name, argument) {
        case ("publish", nil):
            try Self.allow(method, [.POST])
            return .apiPublish
        case ("broadcast", nil):
            try Self.allow(method, [.POST])
            return .apiBroadcast
        case ("channels", nil):
            try Self.allow(method, [.GET])
            return .apiChannels
        case ("history", let channel?):
            try Self.allow(method, [.GET])
            return .apiHistory(try channelName(channel))
        default:
            throw HTTPError.notFound
        }
    }

    /// Throws the `405` that lists `allowed` unless `method` is one of them (HEAD counts as GET).
    package static func allow(_ method: HTTPMethod, _ allowed: [HTTPMethod]) throws(HTTPError) {
        guard allowed.contains(method) || (method == .HEAD && allowed.contains(.GET)) else {
            throw HTTPError.methodNotAllowed(allowed: allowed)
        }
    }

    package func channelName(_ text: Substring) throws(HTTPError) -> ChannelName {
        try Self.channelName(text, maxLength: maxChannelNameLength)
    }

    /// A channel name from a path segment (`%XX` decoded), or `400 invalid_channel`.
    package static func channelName(_ text: Substring, maxLength: Int) throws(HTTPError) -> ChannelName {
        let decoded = PercentDecoding.decode(text) ?? String(text)
        do {
            return try ChannelName(validating: decoded, maxLength: maxLength)
        } catch {
            throw HTTPError.badRequest("invalid_channel", error.description)
        }
    }

    package func channelList(_ text: Substring) throws(HTTPError) -> [ChannelName] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count <= maxChannelsPerSubscription else {
            throw HTTPError.badRequest(
                "too_many_channels",
                "\(parts.count) channels in one subscription; the limit is \(maxChannelsPerSubscription)"
            )
        }
        var channels: [ChannelName] = []
        for part in parts { channels.append(try channelName(part)) }
        guard Set(channels).count == channels.count else {
            throw HTTPError.badRequest("duplicate_channel", "a channel appears twice in the subscription")
        }
        return channels
    }
}

/// `%XX` decoding of URL components (RFC 3986 §2.1).
package enum PercentDecoding {
    /// The decoded text, or `nil` when an escape is malformed or the result is not UTF-8.
    package static func decode(_ text: some StringProtocol, plusAsSpace: Bool = false) -> String? {
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
package struct RequestTarget {
    package var path: Substring
    /// The query, without the `?`.
    private let queryText: Substring

    package init(_ uri: String) {
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
    package func parameter(_ name: String) -> String? {
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
