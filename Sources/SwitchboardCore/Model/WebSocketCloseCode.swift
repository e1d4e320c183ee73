/// Every WebSocket close code the server sends, for every front end, in one table: the standard ones
/// (RFC 6455 §7.4.1) and Switchboard's own, in the range reserved for applications (4000-4999, §7.4.2).
/// ``DisconnectReason`` names why a subscriber ends and maps to these; docs/protocol.md lists them too.
package enum WebSocketCloseCode {
    // RFC 6455 §7.4.1.
    package static let normal: UInt16 = 1000
    package static let goingAway: UInt16 = 1001
    package static let protocolError: UInt16 = 1002
    /// A kind of message the endpoint does not take (text on the binary-only bridge).
    package static let unsupportedData: UInt16 = 1003
    package static let invalidPayload: UInt16 = 1007
    package static let policyViolation: UInt16 = 1008
    package static let messageTooBig: UInt16 = 1009
    /// A server-wide limit was reached: try again later (RFC 6455 registry, 1013).
    package static let tryAgainLater: UInt16 = 1013

    // Subscribers and the native protocol.
    package static let channelDeleted: UInt16 = 4001
    package static let slowConsumer: UInt16 = 4002
    package static let positionTooOld: UInt16 = 4003
    /// The back end disconnected the user (`POST /api/disconnect`).
    package static let disconnected: UInt16 = 4004
    package static let tokenExpired: UInt16 = 4005
    package static let connectTimeout: UInt16 = 4006
    package static let tooManyCommands: UInt16 = 4008

    // The WebSocket-to-TCP bridge.
    package static let bridgeTargetRefused: UInt16 = 4100
    package static let bridgeTargetTimeout: UInt16 = 4101
    package static let bridgeIdle: UInt16 = 4102
    package static let bridgeTargetFailed: UInt16 = 4103
}
