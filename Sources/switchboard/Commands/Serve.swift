import ArgumentParser
import Logging
import SwitchboardAuth
import SwitchboardServer

/// `switchboard serve`: runs the server until SIGINT/SIGTERM.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server (HTTP on 127.0.0.1:8000, STOMP on 127.0.0.1:61613 with no configuration).",
        discussion:
            "Options come from, in increasing precedence: defaults, --config FILE, SWITCHBOARD_* environment variables, flags."
    )

    @Option(name: .long, help: "HTTP/WebSocket listener, HOST:PORT (default 127.0.0.1:8000; env SWITCHBOARD_HTTP).")
    var http: String?

    @Option(
        name: .long,
        help: "STOMP over TCP listener, HOST:PORT or off (default 127.0.0.1:61613; env SWITCHBOARD_STOMP_LISTEN)."
    )
    var stomp: String?

    @Option(name: .long, help: "A TOML configuration file (see switchboard.toml).")
    var config: String?

    @Option(name: .long, help: "Certificate chain (PEM) for https and wss (tls.cert; env SWITCHBOARD_TLS_CERT).")
    var tlsCert: String?

    @Option(name: .long, help: "Private key (PEM) of --tls-cert (tls.key; env SWITCHBOARD_TLS_KEY).")
    var tlsKey: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    @Option(
        name: .long,
        help:
            "Share channels with other nodes through this Redis, redis://HOST:PORT (engine.type = \"redis\" and engine.redis); \"memory\" for none."
    )
    var engine: String?

    func run() async throws {
        var flags: [(key: String, value: String)] = []
        if let http { flags.append(("server.http", http)) }
        if let logLevel { flags.append(("server.log_level", logLevel)) }
        if let stomp { flags.append(("stomp.listen", stomp)) }
        if let tlsCert { flags.append(("tls.cert", tlsCert)) }
        if let tlsKey { flags.append(("tls.key", tlsKey)) }
        if let engine {
            flags.append(("engine.type", engine == "memory" ? "memory" : "redis"))
            if engine != "memory" { flags.append(("engine.redis", engine)) }
        }
        let configuration: SwitchboardConfiguration
        switch ConfigurationLoader().load(file: config, flags: flags) {
        case .success(let loaded): configuration = loaded
        case .failure(let problems):
            for problem in problems.errors { printError(problem.description) }
            throw ExitCode(2)
        }
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: level) ?? .info
            return handler
        }
        let server: SwitchboardServer
        do {
            server = try SwitchboardServer(configuration: configuration, logger: Logger(label: "switchboard"))
        } catch {
            printError("switchboard: \(error)")
            throw ExitCode(2)
        }
        do {
            try await server.run()
        } catch let error as TokenError {
            printError("switchboard: \(error)")
            throw ExitCode(2)
        }
    }
}
