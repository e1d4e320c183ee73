// swift-tools-version:6.1
import Foundation
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    // Imports are explicit: a module's public API names the modules it exposes (`public import`), and a
    // file uses only members of the modules it imports itself.
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Switchboard",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "switchboard", targets: ["switchboard"]),
        .executable(name: "switchboard-bench", targets: ["switchboard-bench"]),
        .library(name: "SwitchboardCore", targets: ["SwitchboardCore"]),
        .library(name: "SwitchboardServer", targets: ["SwitchboardServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
    ],
    targets: [
        // The hub: channels, history, positions, fan-out. No sockets, no NIOPosix.
        .target(
            name: "SwitchboardCore",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        // Signed tokens: JWS parsing, JWK Sets, HS256 / RS256 / ES256 / EdDSA on swift-crypto.
        .target(
            name: "SwitchboardAuth",
            dependencies: [
                "SwitchboardCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        // The STOMP 1.0-1.2 broker: frame codec, session state machine, queues, connection handler.
        .target(
            name: "SwitchboardSTOMP",
            dependencies: [
                "SwitchboardCore",
                "SwitchboardHTTP",
                "SwitchboardWebSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        // WebSocket (RFC 6455) for every front end: frame parser and writer, the assembler, the handshake,
        // and the one connection handler whose sinks the front ends are.
        .target(
            name: "SwitchboardWebSocket",
            dependencies: [
                "SwitchboardCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        // HTTP/1.1: the request handler, the front-end seam and router, /sub's transports, the server API,
        // stats, web assets. Imports no front end.
        .target(
            name: "SwitchboardHTTP",
            dependencies: [
                "SwitchboardCore",
                "SwitchboardAuth",
                "SwitchboardWebSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        // The WebSocket-to-TCP bridge: routes, allow-list, tokens, the session that glues a WebSocket to a
        // TCP connection. A front end on the HTTP seam; its sockets come through the core's TCPConnector.
        .target(
            name: "SwitchboardBridge",
            dependencies: [
                "SwitchboardCore",
                "SwitchboardAuth",
                "SwitchboardHTTP",
                "SwitchboardWebSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        // The native protocol: JSON commands over WebSocket, SSE + POST or long-poll; users, presence,
        // calls to pages, back-end hooks. A front end on the HTTP seam.
        .target(
            name: "SwitchboardNative",
            dependencies: [
                "SwitchboardCore",
                "SwitchboardAuth",
                "SwitchboardHTTP",
                "SwitchboardWebSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        // Socket.IO v4 (protocol 5) on Engine.IO 4: sessions on polling and WebSocket, namespaces, rooms on
        // channels, acknowledgements, recovery, the server API. A front end on the HTTP seam.
        .target(
            name: "SwitchboardSocketIO",
            dependencies: [
                "SwitchboardCore",
                "SwitchboardAuth",
                "SwitchboardHTTP",
                "SwitchboardWebSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        // A Redis client of our own on NIO (no Redis package is available): the RESP3 codec, a pipelined
        // connection, a link that reconnects, probes and restores its sharded pub/sub subscriptions.
        .target(
            name: "SwitchboardRedis",
            dependencies: [
                "SwitchboardCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        // Configuration, bootstraps and lifecycle: the only library that imports NIOPosix.
        .target(
            name: "SwitchboardServer",
            dependencies: [
                "SwitchboardCore",
                "SwitchboardAuth",
                "SwitchboardBridge",
                "SwitchboardHTTP",
                "SwitchboardNative",
                "SwitchboardSocketIO",
                "SwitchboardSTOMP",
                "SwitchboardRedis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        // The thin CLI: serve, publish, subscribe, check-config.
        .executableTarget(
            name: "switchboard",
            dependencies: [
                "SwitchboardServer",
                "SwitchboardAuth",
                "SwitchboardCore",
                "SwitchboardHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // The load generator: subscribers and publishers on NIO, latency histograms, server CPU and RSS.
        .executableTarget(
            name: "switchboard-bench",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: strictSettings
        ),
        // What the EmbeddedChannel tests of every front end share: a WebSocket client's frames.
        .target(
            name: "SwitchboardTestSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            path: "Tests/SwitchboardTestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchboardCoreTests",
            dependencies: [
                "SwitchboardCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchboardHTTPTests",
            dependencies: [
                "SwitchboardTestSupport",
                "SwitchboardHTTP",
                "SwitchboardWebSocket",
                "SwitchboardCore",
                "SwitchboardAuth",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchboardBridgeTests",
            dependencies: [
                "SwitchboardTestSupport",
                "SwitchboardBridge",
                "SwitchboardHTTP",
                "SwitchboardWebSocket",
                "SwitchboardCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchboardNativeTests",
            dependencies: [
                "SwitchboardTestSupport",
                "SwitchboardNative",
                "SwitchboardHTTP",
                "SwitchboardAuth",
                "SwitchboardCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchboardSocketIOTests",
            dependencies: [
                "SwitchboardSocketIO",
                "SwitchboardTestSupport",
                "SwitchboardHTTP",
                "SwitchboardCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchboardWebSocketTests",
            dependencies: [
                "SwitchboardTestSupport",
                "SwitchboardWebSocket",
                "SwitchboardCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchboardAuthTests",
            dependencies: ["SwitchboardAuth", "SwitchboardCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchboardSTOMPTests",
            dependencies: [
                "SwitchboardSTOMP",
                "SwitchboardHTTP",
                "SwitchboardTestSupport",
                "SwitchboardCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchboardRedisTests",
            dependencies: [
                "SwitchboardRedis",
                "SwitchboardServer",
                "SwitchboardCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchboardServerTests",
            dependencies: ["SwitchboardServer", "SwitchboardBridge", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strictSettings
        ),
    ]
)

// The libFuzzer targets (scripts/fuzz): only with SWITCHBOARD_FUZZ=1, as they link only with
// -sanitize=fuzzer (libFuzzer supplies the driver).
if ProcessInfo.processInfo.environment["SWITCHBOARD_FUZZ"] != nil {
    package.targets.append(
        .executableTarget(
            name: "SwitchboardFuzz",
            dependencies: [
                "SwitchboardCore", "SwitchboardAuth", "SwitchboardHTTP", "SwitchboardNative", "SwitchboardSocketIO",
                "SwitchboardSTOMP", "SwitchboardRedis",
                "SwitchboardServer",
                "SwitchboardWebSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        )
    )
}
