import Foundation
import NIOCore
import NIOHTTP1
import SwitchboardCore
import SwitchboardWebSocket
import Testing

@testable import SwitchboardHTTP

@Suite("Routing")
struct RoutingTests {
    let router = Router(maxChannelNameLength: 10, maxChannelsPerSubscription: 3, echoEnabled: false)

    @Test("routes by method and path")
    func routes() {
        #expect(
            router.route(method: .GET, path: "/sub/a,b")
                == .success(.subscribe(channels: [ChannelName(unchecked: "a"), ChannelName(unchecked: "b")]))
        )
        #expect(router.route(method: .POST, path: "/pub/a") == .success(.publish(ChannelName(unchecked: "a"))))
        #expect(router.route(method: .GET, path: "/pub/a") == .success(.channelInfo(ChannelName(unchecked: "a"))))
        #expect(router.route(method: .DELETE, path: "/pub/a") == .success(.deleteChannel(ChannelName(unchecked: "a"))))
        #expect(router.route(method: .POST, path: "/api/publish") == .success(.apiPublish))
        #expect(
            router.route(method: .GET, path: "/api/history/a") == .success(.apiHistory(ChannelName(unchecked: "a")))
        )
        #expect(router.route(method: .GET, path: "/stats") == .success(.stats))
    }

    @Test("errors: 404, 405 with Allow, 400 for names and counts")
    func errors() {
        #expect(router.route(method: .GET, path: "/nope") == .failure(.notFound))
        #expect(router.route(method: .GET, path: "/echo") == .failure(.notFound))
        guard case .failure(let notAllowed) = router.route(method: .POST, path: "/sub/a") else {
            Issue.record("expected 405")
            return
        }
        #expect(notAllowed.status == .methodNotAllowed)
        #expect(notAllowed.extraHeaders.first?.0 == "Allow")
        guard case .failure(let tooLong) = router.route(method: .GET, path: "/sub/abcdefghijk") else { return }
        #expect(tooLong.code == "invalid_channel")
        guard case .failure(let tooMany) = router.route(method: .GET, path: "/sub/a,b,c,d") else { return }
        #expect(tooMany.code == "too_many_channels")
        guard case .failure(let bad) = router.route(method: .GET, path: "/sub/a%20b") else { return }
        #expect(bad.code == "invalid_channel")
    }

    /// A front end with a two-way path and a privileged API endpoint that takes a channel.
    struct TwoPaths: HTTPFrontEnd {
        func claim(_ method: HTTPMethod, _ path: RoutePath) -> Result<FrontEndRoute, HTTPError>? {
            switch (path.first, path.rest) {
            case ("connection", "websocket"), ("connection", "send"):
                let allowed: HTTPMethod = path.rest == "websocket" ? .GET : .POST
                return claimed(method, [allowed]) { FrontEndRoute(exposure: .twoWay) { _ in .respond(HTTPResponse()) } }
            case ("api", "send"):
                return claimed(method, [.POST]) {
                    FrontEndRoute(exposure: .privileged) { _ in .respond(HTTPResponse()) }
                }
            case ("api", let rest?) where rest.hasPrefix("presence/"):
                return claimed(method, [.GET]) { () throws(HTTPError) -> FrontEndRoute in
                    _ = try Router.channelName(rest.dropFirst("presence/".count), maxLength: 10)
                    return FrontEndRoute(exposure: .privileged) { _ in .respond(HTTPResponse()) }
                }
            default:
                return nil
            }
        }
    }

    @Test("front ends claim their paths before the core; what no one claims is the core's")
    func frontEnds() {
        var router = router
        router.frontEnds = [TwoPaths()]
        func exposure(_ method: HTTPMethod, _ path: Substring) -> RequestSecurity.Exposure? {
            guard case .success(.frontEnd(let route)) = router.match(method: method, path: path) else { return nil }
            return route.exposure
        }
        #expect(exposure(.GET, "/connection/websocket") == .twoWay)
        #expect(exposure(.POST, "/connection/send") == .twoWay)
        #expect(exposure(.POST, "/api/send") == .privileged)
        #expect(exposure(.GET, "/api/presence/room") == .privileged)
        // A front end's path with the wrong method, or a bad channel: its error, not the core's 404.
        guard case .failure(let notAllowed) = router.match(method: .POST, path: "/connection/websocket"),
            case .failure(let badChannel) = router.match(method: .GET, path: "/api/presence/abcdefghijk")
        else {
            Issue.record("expected the native front end's refusals")
            return
        }
        #expect(notAllowed.status == .methodNotAllowed && notAllowed.extraHeaders.first?.1 == "GET")
        #expect(badChannel.code == "invalid_channel")
        // Unclaimed: the core routes it (or answers 404).
        guard case .success(.core(.apiPublish)) = router.match(method: .POST, path: "/api/publish"),
            case .failure(.notFound) = router.match(method: .GET, path: "/connection/other"),
            case .failure(.notFound) = self.router.match(method: .GET, path: "/connection/websocket")
        else {
            Issue.record("expected the core's routes and 404s")
            return
        }
        #expect(router.match(method: .GET, path: "/healthz").map(\.answersWhileDraining) == .success(true))
    }

    @Test("the transport is picked like nchan does, and positions are per channel")
    func subscribeRequest() throws {
        let channels = [ChannelName(unchecked: "a"), ChannelName(unchecked: "b")]
        func parse(_ uri: String, _ headers: HTTPHeaders = [:]) -> Result<SubscribeRequest, HTTPError> {
            SubscribeRequest.parse(
                channels: channels,
                head: HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: headers),
                target: RequestTarget(uri)
            )
        }
        #expect(try parse("/sub/a,b").get().transport == .longPoll)
        #expect(try parse("/sub/a,b", ["Accept": "text/event-stream"]).get().transport == .sse)
        #expect(try parse("/sub/a,b", ["Upgrade": "websocket"]).get().transport == .webSocket)
        #expect(try parse("/sub/a,b?transport=stream").get().transport == .stream)
        let resumed = try parse("/sub/a,b?last_event_id=x:1,", ["Last-Event-ID": "y:2,y:3"]).get()
        #expect(resumed.positions == [StreamPosition(epoch: "x", offset: 1), nil])
        #expect(
            try parse("/sub/a,b", ["Last-Event-ID": "y:2,y:3"]).get().positions.compactMap { $0?.offset } == [2, 3]
        )
        guard case .failure(let error) = parse("/sub/a,b?last_event_id=x:1") else {
            Issue.record("one id for two channels must fail")
            return
        }
        #expect(error.code == "invalid_position")
    }

    @Test("percent decoding")
    func percent() {
        #expect(PercentDecoding.decode("a%3Ab") == "a:b")
        #expect(PercentDecoding.decode("a+b", plusAsSpace: true) == "a b")
        #expect(PercentDecoding.decode("%zz") == nil)
        #expect(RequestTarget("/sub/a?x=1&last_event_id=e%3A3").parameter("last_event_id") == "e:3")
    }

    @Test("query parameters are found by a scan of the raw query")
    func queryParameters() {
        let target = RequestTarget("/socket.io/?EIO=4&transport=polling&flag&empty=&a%20b=c+d&EIO=3&t=x=y")
        #expect(target.path == "/socket.io/")
        #expect(target.parameter("EIO") == "4")  // the first one
        #expect(target.parameter("transport") == "polling")
        #expect(target.parameter("flag") == "")
        #expect(target.parameter("empty") == "")
        #expect(target.parameter("a b") == "c d")
        #expect(target.parameter("t") == "x=y")
        #expect(target.parameter("sid") == nil)
        #expect(RequestTarget("/x").parameter("a") == nil)
        #expect(RequestTarget("/x?").parameter("a") == nil)
        #expect(RequestTarget("/x?&&a=1&").parameter("a") == "1")
    }
}
