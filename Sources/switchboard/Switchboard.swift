import ArgumentParser

/// The `switchboard` command: a thin shell over the library (serve, check-config, publish, subscribe).
@main
struct Switchboard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "A real-time messaging server for the web: pub/sub over WebSocket, SSE, long-poll and HTTP streams.",
        subcommands: [Serve.self, CheckConfig.self, SampleConfig.self, Publish.self, Subscribe.self],
        defaultSubcommand: Serve.self
    )
}
