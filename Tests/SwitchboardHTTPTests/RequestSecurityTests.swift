import NIOHTTP1
import Testing

@testable import SwitchboardHTTP

@Suite("Request security: Host, Origin, the loopback privilege, trusted proxies")
struct RequestSecurityTests {
    func security(_ change: (inout HTTPConfiguration) -> Void = { _ in }) -> RequestSecurity {
        var configuration = HTTPConfiguration()
        configuration.apiKeys = ["k3y"]
        configuration.applyHostDefault(listenerHost: "127.0.0.1")
        change(&configuration)
        return RequestSecurity(configuration: configuration)
    }

    func headers(_ pairs: [(String, String)]) -> HTTPHeaders { HTTPHeaders(pairs) }

    let local = ForwardedClient(
        address: "127.0.0.1",
        isLoopback: true,
        isForwarded: false,
        forwardedByUntrustedPeer: false
    )

    @Test("origins parse with explicit ports; null and junk are not origins")
    func origins() {
        #expect(WebOrigin(parsing: "http://LocalHost")?.description == "http://localhost")
        #expect(WebOrigin(parsing: "http://localhost:80") == WebOrigin(parsing: "http://localhost"))
        #expect(WebOrigin(parsing: "https://a.example:8443")?.port == 8443)
        #expect(WebOrigin(parsing: "http://[::1]:8000")?.host == "::1")
        for bad in ["null", "", "localhost:8000", "ftp://a", "http://a/b", "http://u@a", "http://a:0", "http://a:x"] {
            #expect(WebOrigin(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test("origin patterns: exact, any port, subdomains, anything")
    func patterns() throws {
        let exact = try #require(OriginPattern("https://app.example.com"))
        #expect(exact.matches(WebOrigin(parsing: "https://app.example.com:443")))
        #expect(!exact.matches(WebOrigin(parsing: "http://app.example.com")))
        #expect(!exact.matches(WebOrigin(parsing: "https://app.example.com.evil.example")))
        let anyPort = try #require(OriginPattern("http://localhost:*"))
        #expect(anyPort.matches(WebOrigin(parsing: "http://localhost:3000")))
        let subdomains = try #require(OriginPattern("https://*.example.com"))
        #expect(subdomains.matches(WebOrigin(parsing: "https://a.b.example.com")))
        #expect(!subdomains.matches(WebOrigin(parsing: "https://example.com")))
        #expect(!subdomains.matches(WebOrigin(parsing: "https://evilexample.com")))
        #expect(OriginPattern("*")!.matches(nil))
        #expect(!exact.matches(nil))
        #expect(OriginPattern("app.example.com") == nil && OriginPattern("https://a*.example.com") == nil)
    }

    @Test("Host: the loopback names with any port on a loopback listener; a rebinding name is refused")
    func hosts() {
        let s = security()
        for good in ["localhost:8000", "127.0.0.1:8000", "127.0.0.1", "[::1]:8000", "LOCALHOST:1", "localhost."] {
            #expect(s.allowsHost(headers([("Host", good)])), "\(good)")
        }
        for bad in ["rebind.evil.example", "rebind.evil.example:8000", "127.0.0.2:8000", "localhost.evil", "::1"] {
            #expect(!s.allowsHost(headers([("Host", bad)])), "\(bad)")
        }
        #expect(s.allowsHost(headers([])))  // HTTP/1.0 without Host: not a browser
        let open = security {
            $0.hosts = []
            $0.applyHostDefault(listenerHost: "0.0.0.0")
        }
        #expect(open.allowsHost(headers([("Host", "anything.example")])))
        let listed = security { $0.hosts = ["*.example.com", "api.example.org:443"] }
        #expect(listed.allowsHost(headers([("Host", "a.example.com:8000")])))
        #expect(!listed.allowsHost(headers([("Host", "example.com")])))
        #expect(listed.allowsHost(headers([("Host", "api.example.org:443")])))
        #expect(!listed.allowsHost(headers([("Host", "api.example.org:8443")])))
    }

    @Test("same origin: the Origin's host and port are the Host's")
    func sameOrigin() {
        let s = security()
        let request = headers([("Host", "127.0.0.1:8000"), ("Origin", "http://127.0.0.1:8000")])
        #expect(s.checkOrigin(request) == .allowed("http://127.0.0.1:8000"))
        #expect(
            s.checkOrigin(headers([("Host", "127.0.0.1:8000"), ("Origin", "http://127.0.0.1:8001")]))
                == .refused("http://127.0.0.1:8001")
        )
        #expect(
            s.checkOrigin(headers([("Host", "localhost"), ("Origin", "http://localhost")]))
                == .allowed("http://localhost")
        )
        #expect(s.checkOrigin(headers([("Host", "a"), ("Origin", "null")])) == .refused("null"))
        #expect(s.checkOrigin(headers([("Host", "a")])) == .absent)
        let tls = security {
            $0.usesTLS = true
            $0.hosts = ["*"]
        }
        #expect(
            tls.checkOrigin(headers([("Host", "a.example"), ("Origin", "https://a.example")]))
                == .allowed("https://a.example")
        )
    }

    @Test("a privileged request: a foreign Origin or a cross-site fetch is refused even from loopback")
    func privilege() {
        let s = security { $0.origins = ["https://admin.example"] }
        #expect(s.privilegeRefusal(headers([("Host", "127.0.0.1:8000")]), client: local) == nil)
        let csrf = s.privilegeRefusal(
            headers([("Host", "127.0.0.1:8000"), ("Origin", "http://evil.example")]),
            client: local
        )
        #expect(csrf?.code == "origin_not_allowed")
        let withKey = s.privilegeRefusal(
            headers([("Origin", "http://evil.example"), ("Authorization", "Bearer k3y")]),
            client: local
        )
        #expect(withKey?.code == "origin_not_allowed")
        #expect(
            s.privilegeRefusal(headers([("Sec-Fetch-Site", "cross-site")]), client: local)?.code == "origin_not_allowed"
        )
        #expect(s.privilegeRefusal(headers([("Sec-Fetch-Site", "same-origin")]), client: local) == nil)
        #expect(
            s.privilegeRefusal(
                headers([("Origin", "https://admin.example"), ("Sec-Fetch-Site", "cross-site")]),
                client: local
            ) == nil
        )
        let remote = ForwardedClient(
            address: "192.0.2.1",
            isLoopback: false,
            isForwarded: false,
            forwardedByUntrustedPeer: false
        )
        #expect(s.privilegeRefusal(headers([]), client: remote)?.code == "forbidden")
        #expect(s.privilegeRefusal(headers([("Authorization", "Bearer k3y")]), client: remote) == nil)
        #expect(s.privilegeRefusal(headers([("Authorization", "Bearer k3y ")]), client: remote) == nil)
        #expect(s.privilegeRefusal(headers([("Authorization", "Bearer nope")]), client: remote)?.code == "forbidden")
        let noLoopback = security { $0.allowLoopback = false }
        #expect(noLoopback.privilegeRefusal(headers([]), client: local)?.code == "forbidden")
    }

    @Test("forwarding headers: believed from trusted proxies only; the nearest untrusted hop is the client")
    func proxies() throws {
        let proxies = try #require(["127.0.0.1", "10.0.0.0/8"].map(IPRange.init) as? [IPRange])
        let untrusted = ForwardedClient.of(
            peer: "127.0.0.1",
            headers: headers([("X-Forwarded-For", "192.0.2.7")]),
            trustedProxies: []
        )
        #expect(untrusted.forwardedByUntrustedPeer && untrusted.address == "127.0.0.1")
        let forwarded = ForwardedClient.of(
            peer: "127.0.0.1",
            headers: headers([("X-Forwarded-For", "203.0.113.9, 192.0.2.7, 10.1.2.3")]),
            trustedProxies: proxies
        )
        #expect(forwarded.address == "192.0.2.7" && forwarded.isForwarded && !forwarded.isLoopback)
        let rfc7239 = ForwardedClient.of(
            peer: "10.0.0.5",
            headers: headers([
                ("Forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43, for=\"[2001:db8:cafe::17]:4711\"")
            ]),
            trustedProxies: proxies,
            header: .forwarded
        )
        #expect(rfc7239.address == "2001:db8:cafe::17")
        let realIP = ForwardedClient.of(
            peer: "127.0.0.1",
            headers: headers([("X-Real-IP", "127.0.0.1")]),
            trustedProxies: proxies,
            header: .xRealIP
        )
        #expect(realIP.isLoopback && realIP.isForwarded && !realIP.isLocal)
        let direct = ForwardedClient.of(peer: "::ffff:127.0.0.1", headers: headers([]), trustedProxies: [])
        #expect(direct.isLocal && direct.address == "127.0.0.1")
        let junk = ForwardedClient.of(
            peer: "127.0.0.1",
            headers: headers([("X-Forwarded-For", "unknown")]),
            trustedProxies: proxies
        )
        #expect(!junk.isLoopback)
        let unknownPeer = ForwardedClient.of(peer: nil, headers: headers([]), trustedProxies: proxies)
        #expect(!unknownPeer.isLocal)
    }

    @Test("only the configured forwarding header is believed; a proxied request is never local")
    func oneForwardingHeader() throws {
        let proxies = try [#require(IPRange("127.0.0.1"))]
        // nginx appends to X-Forwarded-For and passes the client's own Forwarded header on untouched.
        let spoofed = headers([("Forwarded", "for=127.0.0.1"), ("X-Forwarded-For", "127.0.0.1, 198.51.100.4")])
        let client = ForwardedClient.of(peer: "127.0.0.1", headers: spoofed, trustedProxies: proxies)
        #expect(client.address == "198.51.100.4" && !client.isLocal)
        // Whatever the header says, a request through a proxy has no loopback privilege.
        let s = security { $0.trustedProxies = ["127.0.0.1"] }
        let viaProxy = s.client(peer: "127.0.0.1", headers: headers([("X-Forwarded-For", "127.0.0.1")]))
        #expect(viaProxy.isForwarded && s.privilegeRefusal(headers([]), client: viaProxy)?.code == "forbidden")
        let noHeader = s.client(peer: "127.0.0.1", headers: headers([]))
        #expect(noHeader.isForwarded && s.privilegeRefusal(headers([]), client: noHeader)?.code == "forbidden")
        #expect(s.privilegeRefusal(headers([("Authorization", "Bearer k3y")]), client: viaProxy) == nil)
        // An untrusted peer that sends any forwarding header loses the privilege too.
        let untrusted = security().client(peer: "127.0.0.1", headers: headers([("X-Real-IP", "10.0.0.1")]))
        #expect(untrusted.forwardedByUntrustedPeer)
    }

    @Test("the loopback privilege needs a Host that names this machine (DNS rebinding on 0.0.0.0)")
    func rebindingOnAPublicListener() {
        var configuration = HTTPConfiguration()
        configuration.applyHostDefault(listenerHost: "0.0.0.0")  // no Host list: any Host is answered
        let s = RequestSecurity(configuration: configuration)
        #expect(s.allowsHost(headers([("Host", "rebind.evil.example:8000")])))
        #expect(s.privilegeRefusal(headers([("Host", "rebind.evil.example:8000")]), client: local)?.code == "forbidden")
        for host in ["localhost:8000", "127.0.0.1", "[::1]:8000", "127.1.2.3:8000"] {
            #expect(s.privilegeRefusal(headers([("Host", host)]), client: local) == nil, "\(host)")
        }
        #expect(s.privilegeRefusal(headers([]), client: local) == nil)  // HTTP/1.0, no Host
        configuration.hosts = ["push.example.com"]
        let listed = RequestSecurity(configuration: configuration)
        #expect(listed.privilegeRefusal(headers([("Host", "push.example.com")]), client: local) == nil)
        configuration.hosts = ["*"]
        let any = RequestSecurity(configuration: configuration)
        #expect(any.privilegeRefusal(headers([("Host", "push.example.com")]), client: local)?.code == "forbidden")
    }

    @Test("address ranges")
    func ranges() throws {
        let range = try #require(IPRange("10.0.0.0/8"))
        #expect(range.contains(IPAddress("10.255.0.1")!))
        #expect(!range.contains(IPAddress("11.0.0.1")!))
        #expect(IPRange("::1")!.contains(IPAddress("[::1]")!))
        #expect(IPRange("fd00::/8")!.contains(IPAddress("fd12::1")!))
        #expect(!IPRange("fd00::/8")!.contains(IPAddress("10.0.0.1")!))
        #expect(IPRange("10.0.0.0/33") == nil && IPRange("nope") == nil)
        #expect(
            IPAddress("::1")!.isLoopback && IPAddress("127.9.9.9")!.isLoopback && !IPAddress("128.0.0.1")!.isLoopback
        )
    }
}
