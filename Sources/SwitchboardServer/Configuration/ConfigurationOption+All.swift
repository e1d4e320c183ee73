import SwitchboardCore

extension ConfigurationOption {
    /// Every option, in the order of the sample file.
    public static let all: [ConfigurationOption] = [
        .string(
            "server.http",
            "HTTP and WebSocket listener, HOST:PORT",
            default: "127.0.0.1:8000",
            kind: .address,
            validate: OptionValidation.address
        ) {
            $0.http = ListenAddress(parsing: $1)!
        },
        .integer("server.threads", "event-loop threads; 0 = one per CPU core", default: 0, range: 0...1024) {
            $0.threads = $1
        },
        .number(
            "server.shutdown_timeout",
            "seconds connections get to say goodbye on shutdown",
            default: 10,
            range: 0...3600
        ) {
            $0.shutdownTimeout = $1
        },
        .string(
            "server.log_level",
            "trace, debug, info, notice, warning, error or critical",
            default: "info",
            validate: OptionValidation.logLevel
        ) {
            $0.logLevel = $1
        },
        .integer(
            "channels.history_size",
            "messages kept per channel for resume and /api/history",
            default: 100,
            range: 0...1_000_000
        ) {
            $0.historySize = $1
        },
        .number("channels.history_ttl", "seconds a message is kept in history", default: 3600, range: 0...31_536_000) {
            $0.historyTTL = $1
        },
        .number(
            "channels.ping_interval",
            "seconds between keep-alive pings to subscribers",
            default: 25,
            range: 0.05...3600
        ) {
            $0.httpFrontEnd.pingInterval = $1
        },
        .number(
            "channels.longpoll_timeout",
            "seconds before an empty long-poll answers 204",
            default: 30,
            range: 0.05...3600
        ) {
            $0.httpFrontEnd.longPollTimeout = $1
        },
        .string(
            "channels.message_template",
            "chunk template of ?transport=stream (~id~ ~channel~ ~event-type~ ~content-type~ ~time~ ~text~)",
            default: "~text~\n"
        ) { $0.httpFrontEnd.messageTemplate = $1 },
        .string(
            "channels.ping_template",
            "keep-alive chunk of ?transport=stream; empty = message_template with event-type ping",
            default: ""
        ) { $0.httpFrontEnd.pingTemplate = $1 },
        .integer("limits.max_channel_name", "longest channel name, bytes", default: 255, range: 1...65535) {
            $0.httpFrontEnd.maxChannelNameLength = $1
        },
        .integer(
            "limits.max_channels_per_subscription",
            "most channels in one /sub/a,b,c",
            default: 64,
            range: 1...10000
        ) {
            $0.httpFrontEnd.maxChannelsPerSubscription = $1
        },
        .integer(
            "limits.max_message_size",
            "largest payload (HTTP body, WebSocket message), bytes",
            default: 1 << 20,
            range: 1...(1 << 30)
        ) {
            $0.httpFrontEnd.maxMessageSize = $1
        },
        .integer(
            "limits.max_outbound_bytes",
            "outbound queue per connection before it is closed as a slow consumer, bytes",
            default: 4 << 20,
            range: 1024...(1 << 31)
        ) { $0.httpFrontEnd.maxOutboundBytes = $1 },
        .integer(
            "limits.max_request_line",
            "longest request target (URI), bytes; longer gets 414",
            default: 8 << 10,
            range: 64...(1 << 20)
        ) {
            $0.httpFrontEnd.maxRequestLine = $1
        },
        .integer(
            "limits.max_header_size",
            "largest request header section, bytes; larger gets 431",
            default: 16 << 10,
            range: 256...(1 << 20)
        ) {
            $0.httpFrontEnd.maxHeaderSize = $1
        },
        .boolean(
            "security.allow_loopback",
            "loopback clients may publish and use /api and /stats without a key",
            default: true
        ) {
            $0.httpFrontEnd.allowLoopback = $1
        },
        .stringList(
            "security.api_keys",
            "keys accepted as Authorization: Bearer KEY for publishing, /api and /stats",
            validate: OptionValidation.apiKey
        ) {
            $0.httpFrontEnd.apiKeys = $1
        },
        .stringList(
            "security.client_publish",
            "channel patterns (* and ?) where WebSocket subscribers may publish by sending frames"
        ) {
            $0.httpFrontEnd.clientPublishPatterns = $1
        },
        .boolean(
            "testing.websocket_echo",
            "serve a WebSocket echo endpoint at /echo (for the Autobahn suite); keep off in production",
            default: false
        ) { $0.httpFrontEnd.webSocketEcho = $1 },
    ]

    /// The option with TOML key `key`.
    public static func named(_ key: String) -> ConfigurationOption? {
        all.first { $0.key == key }
    }
}

/// swift-log's level names.
public enum LogLevelName {
    /// Every accepted name.
    public static let all = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    static func isValid(_ name: String) -> Bool { all.contains(name) }
}

/// Checks of option values that need more than a type: each returns what is wrong, or `nil`.
enum OptionValidation {
    @Sendable static func address(_ text: String) -> String? {
        ListenAddress(parsing: text) == nil ? "expected HOST:PORT, e.g. 127.0.0.1:8000" : nil
    }

    @Sendable static func logLevel(_ text: String) -> String? {
        LogLevelName.isValid(text) ? nil : "must be one of \(LogLevelName.all.joined(separator: ", "))"
    }

    @Sendable static func apiKey(_ text: String) -> String? {
        text.isEmpty || text.contains(" ") ? "API keys must be non-empty and without spaces" : nil
    }
}
