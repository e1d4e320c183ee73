import Foundation
import NIOCore
import SwitchboardCore
import SwitchboardHTTP

/// One command of the native protocol, as the client sent it: `{"id": 1, "method": "subscribe",
/// "params": {...}}`. `id` is the client's, echoed in the reply (commands without one get no reply).
struct NativeCommand {
    var id: Int?
    var method: String
    var params: [String: Any]

    /// Parses a WebSocket message; the error says what is wrong.
    static func parse(_ payload: ByteBuffer) -> Result<NativeCommand, NativeError> {
        guard
            let object = try? JSONSerialization.jsonObject(with: Data(payload.readableBytesView)) as? [String: Any]
        else {
            return .failure(
                NativeError(.badRequest, "a command is a JSON object: {\"id\":1,\"method\":\"...\",\"params\":{...}}")
            )
        }
        var id: Int?
        if let value = object["id"] {
            guard let number = value as? Int, number >= 0 else {
                return .failure(NativeError(.badRequest, "\"id\" must be a non-negative integer"))
            }
            id = number
        }
        guard let method = object["method"] as? String else {
            return .failure(NativeError(.badRequest, "\"method\" (a string) is missing", id: id))
        }
        let params = object["params"] ?? [String: Any]()
        guard let dictionary = params as? [String: Any] else {
            return .failure(NativeError(.badRequest, "\"params\" must be an object", id: id))
        }
        return .success(NativeCommand(id: id, method: method, params: dictionary))
    }
}

/// An error answer of the native protocol: `{"id": N, "error": {"code": 104, "name": "invalid_channel",
/// "message": "..."}}`.
struct NativeError: Error {
    enum Code: Int {
        case badRequest = 100
        case unknownMethod = 101
        case notConnected = 102
        case alreadyConnected = 103
        case invalidChannel = 104
        case alreadySubscribed = 105
        case notSubscribed = 106
        case tooManySubscriptions = 107
        case permissionDenied = 108
        case messageTooLarge = 109
        case invalidPosition = 110
        case presenceDisabled = 111
        case rateLimited = 112
        case invalidToken = 113
        case unknownCall = 114
        case rpcFailed = 115
        case rpcError = 116
        case hookFailed = 117
        case memoryFull = 118
        case tooManyChannels = 119
        case engineUnavailable = 121
        case tooManyCalls = 120

        /// The machine-readable name.
        var name: String {
            switch self {
            case .badRequest: return "bad_request"
            case .unknownMethod: return "unknown_method"
            case .notConnected: return "not_connected"
            case .alreadyConnected: return "already_connected"
            case .invalidChannel: return "invalid_channel"
            case .alreadySubscribed: return "already_subscribed"
            case .notSubscribed: return "not_subscribed"
            case .tooManySubscriptions: return "too_many_subscriptions"
            case .permissionDenied: return "permission_denied"
            case .messageTooLarge: return "message_too_large"
            case .invalidPosition: return "invalid_position"
            case .presenceDisabled: return "presence_disabled"
            case .rateLimited: return "rate_limited"
            case .invalidToken: return "invalid_token"
            case .unknownCall: return "unknown_call"
            case .rpcFailed: return "rpc_failed"
            case .rpcError: return "rpc_error"
            case .hookFailed: return "hook_failed"
            case .memoryFull: return "memory_full"
            case .tooManyChannels: return "too_many_channels"
            case .engineUnavailable: return "engine_unavailable"
            case .tooManyCalls: return "too_many_calls"
            }
        }
    }

    var code: Code
    var message: String
    var id: Int?

    init(_ code: Code, _ message: String, id: Int? = nil) {
        self.code = code
        self.message = message
        self.id = id
    }

    /// A server-wide limit refused a publish or subscription.
    init(_ refusal: HubRefusal, id: Int?) {
        switch refusal {
        case .memoryFull: self.init(.memoryFull, refusal.message, id: id)
        case .tooManyChannels: self.init(.tooManyChannels, refusal.message, id: id)
        case .engineUnavailable: self.init(.engineUnavailable, refusal.message, id: id)
        }
    }
}
