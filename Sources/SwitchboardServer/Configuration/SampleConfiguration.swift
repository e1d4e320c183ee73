/// Renders the commented sample configuration (`switchboard.toml` in the repository) from the option table,
/// so the sample always lists every option with its real default.
public enum SampleConfiguration {
    /// The sample file's text.
    public static func render() -> String {
        var lines = [
            "# Switchboard configuration: every option with its default.",
            "# Each option can also be set with an environment variable (shown after \"env:\"), which wins over",
            "# this file, and `switchboard serve --http HOST:PORT` wins over both.",
            "# Check a file with: switchboard check-config switchboard.toml",
        ]
        var section = ""
        for option in ConfigurationOption.all {
            let parts = option.key.split(separator: ".", maxSplits: 1).map(String.init)
            if parts[0] != section {
                section = parts[0]
                lines.append("")
                lines.append("[\(section)]")
            }
            lines.append("# \(option.summary) (env: \(option.environmentVariable))")
            lines.append("\(parts[1]) = \(option.defaultText)")
            if option.key == "bridge.max_connections_per_address" { lines += bridgeRouteExample }
            if option.key == "stomp.users" { lines += stompUserExample }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// STOMP logins are tables, one per login (none by default: anonymous connections).
    private static let stompUserExample = [
        "# Logins: when any is configured, CONNECT must carry one. write and read are channel / queue patterns",
        "# the login may SEND to and SUBSCRIBE to (topics and queues), and all it may: a login does not get what",
        "# security.client_publish, client_subscribe and client_queues allow everyone. For example:",
        "# [[stomp.user]]",
        "# login = \"feed\"",
        "# passcode = \"change me\"            # or passcode_sha256 = \"<sha256sum of the passcode, 64 hex digits>\"",
        "# write = [\"prices\", \"orders.*\"]",
        "# read = [\"*\"]",
    ]

    /// Named bridge routes are tables, one per route (none by default).
    private static let bridgeRouteExample = [
        "# Named routes: a WebSocket at path, bridged to target; text = true accepts text frames (sent as",
        "# UTF-8 bytes) for line protocols like IRC. None by default. For example:",
        "# [[bridge.route]]",
        "# path = \"/irc\"",
        "# target = \"127.0.0.1:6667\"",
        "# text = true",
        "# origins = [\"https://app.example\"]   # optional: the Origins allowed here",
        "# auth = false                          # optional: require ?access_token= (default bridge.auth)",
        "# proxy_protocol = false                # optional: PROXY v2 header with the browser's address",
    ]
}
