import ArgumentParser

/// The subscriber transports the load generator speaks.
enum Transport: String, ExpressibleByArgument, Codable {
    case ws, sse, longpoll
    /// Socket.IO (Engine.IO 4) on a WebSocket, and on HTTP long-polling: `--sub-url` is the endpoint
    /// (`ws://HOST:PORT/socket.io/?EIO=4&transport=websocket`, `http://...&transport=polling`), the room
    /// is the subscriber's channel, joined as `--sio-dialect` says.
    case sio, siopoll
}

/// What the subscribers are and where they connect; shared by the coordinator and its workers.
struct SubscriptionOptions: ParsableArguments {
    @Option(help: "Subscriber transport: ws, sse, longpoll, sio (Socket.IO on WebSocket) or siopoll.")
    var transport: Transport = .ws

    @Option(help: "Socket.IO server: switchboard (rooms are channels) or peer (the python-socketio reference).")
    var sioDialect: SocketIODialect = .switchboard

    @Option(
        name: .customLong("sub-url"),
        help: "Subscriber URL with {ch} and/or {group}; repeat for one connection per pattern per subscriber."
    )
    var subURLs: [String] = []

    @Flag(
        help:
            "Spread subscribers over the --sub-url patterns (subscriber i uses pattern i % count), e.g. over a cluster's nodes."
    )
    var spread = false
    @Option(help: "Subscribers.")
    var subscribers = 1000

    @Option(help: "broadcast (subscriber i on b{i % channels}) or personal-group (p{i} and g{i / group-size}).")
    var layout: LayoutName = .broadcast

    @Option(help: "Channels of the broadcast layout.")
    var channels = 1

    @Option(help: "Group size of the personal-group layout.")
    var groupSize = 10

    @Option(help: "New connections per second while ramping up; 0 = as fast as possible.")
    var connectRate = 0

    enum LayoutName: String, ExpressibleByArgument {
        case broadcast
        case personalGroup = "personal-group"
    }

    var subscriberPatterns: [URLPattern] { subURLs.compactMap(URLPattern.init) }

    /// The patterns subscriber `index` connects with: all of them, or one with `--spread`.
    func patterns(ofSubscriber index: Int) -> [URLPattern] {
        let all = subscriberPatterns
        guard spread, !all.isEmpty else { return all }
        return [all[index % all.count]]
    }

    /// Connections per subscriber.
    var connectionsPerSubscriber: Int { spread ? 1 : subscriberPatterns.count }

    var layoutValue: Layout {
        switch layout {
        case .broadcast: return .broadcast(channels: max(1, channels))
        case .personalGroup: return .personalGroup(subscribers: subscribers, groupSize: max(1, groupSize))
        }
    }

    func validate() throws {
        guard !subURLs.isEmpty else { throw ValidationError("give at least one --sub-url") }
        for url in subURLs where URLPattern(url) == nil {
            throw ValidationError("\(url): expected ws://HOST:PORT/PATH or http://HOST:PORT/PATH")
        }
    }

    /// The arguments that recreate these options in a worker process.
    var arguments: [String] {
        var result = [
            "--transport", transport.rawValue, "--subscribers", String(subscribers), "--layout", layout.rawValue,
            "--channels", String(channels), "--group-size", String(groupSize), "--connect-rate", String(connectRate),
            "--sio-dialect", sioDialect.rawValue,
        ]
        for url in subURLs { result += ["--sub-url", url] }
        if spread { result.append("--spread") }
        return result
    }
}
