import Foundation
import SwitchboardBridge
import SwitchboardCore
import SwitchboardHTTP
import SwitchboardSTOMP
import Testing

@testable import SwitchboardServer

/// Writes `text` to a new temporary configuration file and returns its path.
func writeConfigurationFile(_ text: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent(
        "switchboard-\(UUID().uuidString).toml"
    ).path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Suite("Configuration")
struct ConfigurationLoaderTests {
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
        let path = try writeConfigurationFile(
            "[server]\nhttp = \"127.0.0.1:9000\"\n[channels]\nhistory_size = 5\nping_interval = 2.5\n"
        )
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
        let path = try writeConfigurationFile(
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
        let path = try writeConfigurationFile("[server]\nhttp = \"unterminated\n")
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
        let good = try writeConfigurationFile(
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
            configuration.bridge.routes == [
                .init(path: "/irc", target: BridgeAddress(host: "127.0.0.1", port: 6667), text: true),
                .init(path: "/vnc", target: BridgeAddress(host: "::1", port: 5900)),
            ]
        )
        let bad = try writeConfigurationFile(
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

@Suite("Configuration: STOMP logins")
struct STOMPUsersConfigurationTests {
    @Test("[[stomp.user]] tables: passcode or its SHA-256, write and read patterns")
    func tables() throws {
        let path = try writeConfigurationFile(
            """
            [[stomp.user]]
            login = "feed"
            passcode = "pw"
            write = ["prices", "orders.*"]
            read = ["*"]

            [[stomp.user]]
            login = "auditor"
            passcode_sha256 = "8F434346648F6B96DF89DDA901C5176B10A6D83961DD3C1AC88B59B2DC327AA4"
            read = ["orders.*"]
            """
        )
        let configuration = try ConfigurationLoader().load(file: path, environment: [:]).get()
        let users = configuration.stompBroker.users
        #expect(users.map(\.login) == ["feed", "auditor"])
        #expect(users[0].grants.publish == ["prices", "orders.*"])
        #expect(users[0].accepts(passcode: "pw"))
        #expect(users[1].accepts(passcode: "hi"))  // sha256("hi")
        #expect(users[1].grants.publish.isEmpty)
        #expect(configuration.warnings.filter { $0.contains("stomp.users") }.isEmpty)
    }

    @Test("mistakes in the tables are reported with their lines")
    func mistakes() throws {
        let path = try writeConfigurationFile(
            """
            [[stomp.user]]
            login = "a"

            [[stomp.user]]
            login = "b"
            passcode_sha256 = "xyz"

            [[stomp.user]]
            login = "c"
            passcode = "p"
            write = "prices"
            colour = "red"
            """
        )
        guard case .failure(let problems) = ConfigurationLoader().load(file: path, environment: [:]) else {
            Issue.record("expected errors")
            return
        }
        let messages = problems.errors.map { "\($0.line ?? 0): \($0.message)" }
        #expect(messages.contains("1: stomp.user: login a needs passcode or passcode_sha256 (one of them)"))
        #expect(messages.contains { $0.hasPrefix("4: stomp.user: passcode_sha256 must be 64 hexadecimal digits") })
        #expect(messages.contains("8: stomp.user: write must be an array of strings"))
        #expect(messages.contains { $0.hasPrefix("8: stomp.user: unknown key colour") })
    }

    @Test("the deprecated stomp.users strings still work, may do everything, and are warned about")
    func legacy() throws {
        let path = try writeConfigurationFile("[stomp]\nusers = [\"ann:a:b\"]\n")
        let configuration = try ConfigurationLoader().load(file: path, environment: [:]).get()
        let users = configuration.stompBroker.users
        #expect(users.count == 1 && users[0].login == "ann" && users[0].accepts(passcode: "a:b"))
        #expect(users[0].grants == .everything)
        #expect(configuration.warnings.contains { $0.hasPrefix("stomp.users is deprecated") })
    }
}
