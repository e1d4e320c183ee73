import Testing

@testable import SwitchboardBridge

@Suite("Bridge")
struct BridgeTests {
    @Test("targets: HOST:PORT and [IPV6]:PORT, nothing else")
    func addresses() {
        #expect(BridgeAddress(parsing: "127.0.0.1:6667") == BridgeAddress(host: "127.0.0.1", port: 6667))
        #expect(BridgeAddress(parsing: " irc.local:6667 ") == BridgeAddress(host: "irc.local", port: 6667))
        #expect(BridgeAddress(parsing: "[::1]:5900") == BridgeAddress(host: "::1", port: 5900))
        for bad in ["", "host", ":80", "host:0", "host:65536", "host:x", "[::1]5900", "a b:1"] {
            #expect(BridgeAddress(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test("the allow-list matches host and port exactly, ranges included")
    func allowList() {
        let list = BridgeAllowList(["127.0.0.1:6667", "LocalHost:7000-7010", "[::1]:22"])
        #expect(list.allows(BridgeAddress(host: "127.0.0.1", port: 6667)))
        #expect(list.allows(BridgeAddress(host: "localhost", port: 7005)))
        #expect(list.allows(BridgeAddress(host: "LOCALHOST", port: 7010)))
        #expect(list.allows(BridgeAddress(host: "::1", port: 22)))
        #expect(!list.allows(BridgeAddress(host: "127.0.0.1", port: 6668)))
        #expect(!list.allows(BridgeAddress(host: "127.0.0.2", port: 6667)))
        #expect(!list.allows(BridgeAddress(host: "localhost", port: 7011)))
        #expect(BridgeAllowList([]).isEmpty)
        for bad in ["host", "host:", "host:9-1", ":80", "host:1-2-3", "host:70000"] {
            #expect(BridgeAllowList.problem(with: bad) != nil, "\(bad)")
        }
    }

    @Test("websockify token files: name: host:port, comments and junk skipped")
    func tokenFiles() {
        let tokens = BridgeTokenFile.parse(
            """
            # tokens
            vnc1: 127.0.0.1:5901
              irc :  localhost:6667   # trailing comment
            broken line
            nohost: :1
            v6: [::1]:22
            """
        )
        #expect(tokens["vnc1"] == BridgeAddress(host: "127.0.0.1", port: 5901))
        #expect(tokens["irc"] == BridgeAddress(host: "localhost", port: 6667))
        #expect(tokens["v6"] == BridgeAddress(host: "::1", port: 22))
        #expect(tokens.count == 3)
    }
}
