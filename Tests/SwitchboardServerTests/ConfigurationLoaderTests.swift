import Foundation
import SwitchboardHTTP
import Testing

@testable import SwitchboardServer

@Suite("Configuration")
struct ConfigurationLoaderTests {
    func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "switchboard-\(UUID().uuidString).toml"
        ).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("the defaults need no file")
    func defaults() throws {
        let configuration = try ConfigurationLoader().load(file: nil, environment: [:]).get()
        #expect(configuration.http == ListenAddress(host: "127.0.0.1", port: 8000))
        #expect(configuration.historySize == 100)
        #expect(configuration.historyTTL == 3600)
        #expect(configuration.httpFrontEnd.pingInterval == 25)
        #expect(configuration.httpFrontEnd.longPollTimeout == 30)
        #expect(configuration.httpFrontEnd.maxChannelsPerSubscription == 64)
        #expect(configuration.httpFrontEnd.maxMessageSize == 1 << 20)
        #expect(configuration.httpFrontEnd.allowLoopback)
    }

    @Test("precedence: file < environment < flags")
    func precedence() throws {
        let path = try write("[server]\nhttp = \"127.0.0.1:9000\"\n[channels]\nhistory_size = 5\nping_interval = 2.5\n")
        let configuration = try ConfigurationLoader().load(
            file: path,
            environment: [
                "SWITCHBOARD_HTTP": "127.0.0.1:9001", "SWITCHBOARD_CHANNELS_HISTORY_SIZE": "7",
                "SWITCHBOARD_SECURITY_API_KEYS": "a, b",
            ],
            flags: [("server.http", "[::1]:9002")]
        ).get()
        #expect(configuration.http == ListenAddress(host: "::1", port: 9002))
        #expect(configuration.historySize == 7)
        #expect(configuration.httpFrontEnd.pingInterval == 2.5)
        #expect(configuration.httpFrontEnd.apiKeys == ["a", "b"])
    }

    @Test("every error is reported with its line")
    func errorsWithLines() throws {
        let path = try write(
            """
            [server]
            http = "nowhere"
            threads = "two"

            [nonsense]
            x = 1

            [channels]
            history_siz = 3
            ping_interval = -1
            """
        )
        let errors = ConfigurationLoader().check(file: path)
        #expect(errors.map(\.line) == [2, 3, 5, 9, 10])
        #expect(errors[0].description.hasPrefix("\(path):2: error: server.http"))
        #expect(errors[3].message.contains("did you mean channels.history_size?"))
    }

    @Test("syntax errors carry their line")
    func syntaxError() throws {
        let path = try write("[server]\nhttp = \"unterminated\n")
        let errors = ConfigurationLoader().check(file: path)
        #expect(errors.count == 1)
        #expect(errors.first?.line == 2)
    }

    @Test("bad environment values are reported with the variable's name")
    func environmentErrors() {
        guard
            case .failure(let errors) = ConfigurationLoader().load(
                file: nil,
                environment: ["SWITCHBOARD_THREADS": "many"]
            )
        else {
            Issue.record("expected an error")
            return
        }
        #expect(
            errors.errors.first?.description
                == "environment SWITCHBOARD_THREADS: error: server.threads must be an integer, not \"many\""
        )
    }

    @Test("listen addresses")
    func addresses() {
        #expect(ListenAddress(parsing: "0.0.0.0:80") == ListenAddress(host: "0.0.0.0", port: 80))
        #expect(ListenAddress(parsing: ":8000") == ListenAddress(host: "127.0.0.1", port: 8000))
        #expect(ListenAddress(parsing: "[::1]:8000") == ListenAddress(host: "::1", port: 8000))
        #expect(ListenAddress(parsing: "host") == nil)
        #expect(ListenAddress(parsing: "host:70000") == nil)
    }

    @Test("the committed switchboard.toml is the generated sample, and it is valid")
    func sampleInSync() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let sample = root.appendingPathComponent("switchboard.toml").path
        let committed = try String(contentsOfFile: sample, encoding: .utf8)
        #expect(
            committed == SampleConfiguration.render(),
            "run: swift run switchboard sample-config > switchboard.toml"
        )
        #expect(ConfigurationLoader().check(file: sample).isEmpty)
        for option in ConfigurationOption.all {
            #expect(committed.contains(option.environmentVariable))
        }
    }

    @Test("bridge routes are tables; their mistakes are reported with their lines")
    func bridgeRoutes() throws {
        let good = try write(
            """
            [bridge]
            allow = ["127.0.0.1:6667", "localhost:7000-7010"]
            [[bridge.route]]
            path = "/irc"
            target = "127.0.0.1:6667"
            text = true
            [[bridge.route]]
            path = "/vnc"
            target = "[::1]:5900"
            """
        )
        let configuration = try ConfigurationLoader().load(file: good, environment: [:]).get()
        #expect(
            configuration.httpFrontEnd.bridge.routes == [
                .init(path: "/irc", target: BridgeAddress(host: "127.0.0.1", port: 6667), text: true),
                .init(path: "/vnc", target: BridgeAddress(host: "::1", port: 5900)),
            ]
        )
        let bad = try write(
            """
            [bridge]
            allow = ["nohost"]
            [[bridge.route]]
            path = "/pub/x"
            target = "127.0.0.1:1"
            [[bridge.route]]
            path = "/ok"
            target = "no-port"
            [[bridge.route]]
            path = "/fine"
            target = "127.0.0.1:2"
            color = "blue"
            """
        )
        let errors = ConfigurationLoader().check(file: bad).map(\.description)
        #expect(errors.count == 4)
        #expect(errors.contains { $0.contains(":2: error:") && $0.contains("HOST:LOW-HIGH") })
        #expect(errors.contains { $0.contains(":3: error: bridge.route: /pub/x is one of the server's own paths") })
        #expect(errors.contains { $0.contains(":6: error: bridge.route: target must be") })
        #expect(errors.contains { $0.contains(":9: error: bridge.route: unknown key color") })
    }
}
