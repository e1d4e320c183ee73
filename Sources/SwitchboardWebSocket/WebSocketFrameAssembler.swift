package import NIOCore
package import NIOWebSocket
import SwitchboardCore

/// The receive side of a WebSocket connection as a value: turns frames into messages, answers control
/// frames and enforces RFC 6455's rules. No I/O; ``WebSocketConnectionHandler`` runs the actions.
///
/// ```
///   frames ─▶ frameReceived(_:) ─▶ Action (.message / .sendPong / .replyToClose / .fail / ...)
/// ```
package struct WebSocketFrameAssembler {

    package enum Action: Equatable {
        case none
        /// A complete text or binary message.
        case message(WebSocketOpcode, ByteBuffer)
        case sendPong(ByteBuffer)
        case pongReceived
        /// The peer started the closing handshake: echo its code (RFC 6455 §5.5.1) and close.
        case replyToClose(code: UInt16?)
        /// The peer answered our close frame: the handshake is complete, close the TCP connection.
        case closeCompleted
        /// The peer broke the protocol: send a close frame with this code, then close.
        case fail(code: UInt16, reason: String)
    }

    private enum State {
        case open
        /// A fragmented message is in progress.
        case assembling(opcode: WebSocketOpcode, buffer: ByteBuffer, validator: UTF8Validation.Validator?)
        /// We sent a close frame and wait for the peer's.
        case closeSent
        /// Closed or failed: every further frame is ignored (sticky).
        case closed
    }

    private var state: State = .open
    package let maxMessageSize: Int

    package init(maxMessageSize: Int) {
        self.maxMessageSize = maxMessageSize
    }

    /// Whether the closing handshake has started (from either side) or the connection failed.
    package var isClosing: Bool {
        switch state {
        case .open, .assembling: return false
        case .closeSent, .closed: return true
        }
    }

    /// We are sending a close frame of our own.
    package mutating func closeSent() {
        switch state {
        case .open, .assembling: state = .closeSent
        case .closeSent, .closed: break
        }
    }

    package mutating func frameReceived(_ frame: WebSocketFrame) -> Action {
        if case .closed = state { return .none }
        // RFC 6455 §5.2: RSV bits must be 0 unless an extension was negotiated (none is).
        guard !frame.rsv1, !frame.rsv2, !frame.rsv3 else {
            return fail(WebSocketCloseCode.protocolError, "reserved bits set")
        }
        // RFC 6455 §5.1: a server MUST close the connection upon receiving a frame that is not masked.
        guard frame.maskKey != nil else {
            return fail(WebSocketCloseCode.protocolError, "client frames must be masked")
        }
        switch frame.opcode {
        case .connectionClose: return closeReceived(frame)
        case .ping, .pong: return controlReceived(frame)
        case .text, .binary, .continuation: return dataReceived(frame)
        default: return fail(WebSocketCloseCode.protocolError, "reserved opcode")
        }
    }

    private mutating func controlReceived(_ frame: WebSocketFrame) -> Action {
        // RFC 6455 §5.5: control frames are not fragmented and carry at most 125 bytes.
        guard frame.fin, frame.length <= 125 else {
            return fail(WebSocketCloseCode.protocolError, "invalid control frame")
        }
        if case .closeSent = state { return .none }
        return frame.opcode == .ping ? .sendPong(frame.payload) : .pongReceived
    }

    private mutating func closeReceived(_ frame: WebSocketFrame) -> Action {
        guard frame.fin, frame.length <= 125 else {
            return fail(WebSocketCloseCode.protocolError, "invalid control frame")
        }
        var payload = frame.payload
        var code: UInt16?
        if payload.readableBytes == 1 { return fail(WebSocketCloseCode.protocolError, "close payload of one byte") }
        if let received = payload.readInteger(as: UInt16.self) {
            guard Self.isValidReceivedCloseCode(received) else {
                return fail(WebSocketCloseCode.protocolError, "invalid close code")
            }
            guard UTF8Validation.isValid(payload.readableBytesView) else {
                return fail(WebSocketCloseCode.invalidPayload, "close reason is not UTF-8")
            }
            code = received
        }
        if case .closeSent = state {
            state = .closed
            return .closeCompleted
        }
        state = .closed
        return .replyToClose(code: code)
    }

    private mutating func dataReceived(_ frame: WebSocketFrame) -> Action {
        switch state {
        case .closeSent, .closed:
            return .none
        case .open:
            guard frame.opcode != .continuation else {
                return fail(WebSocketCloseCode.protocolError, "continuation without a message")
            }
            var validator: UTF8Validation.Validator? = frame.opcode == .text ? UTF8Validation.Validator() : nil
            let data = frame.payload
            if let failure = check(data, total: data.readableBytes, validator: &validator, final: frame.fin) {
                return failure
            }
            if frame.fin { return .message(frame.opcode, data) }
            state = .assembling(opcode: frame.opcode, buffer: data, validator: validator)
            return .none
        case .assembling(let opcode, var buffer, var validator):
            guard frame.opcode == .continuation else {
                return fail(WebSocketCloseCode.protocolError, "new message inside a fragmented one")
            }
            let data = frame.payload
            state = .closed  // Drop our reference to `buffer` so appending below does not copy it.
            if let failure = check(
                data,
                total: buffer.readableBytes + data.readableBytes,
                validator: &validator,
                final: frame.fin
            ) {
                return failure
            }
            var fragment = data
            buffer.writeBuffer(&fragment)
            if frame.fin {
                state = .open
                return .message(opcode, buffer)
            }
            state = .assembling(opcode: opcode, buffer: buffer, validator: validator)
            return .none
        }
    }

    /// Size and UTF-8 checks for one more fragment; text is validated as it arrives so bad input fails fast.
    private mutating func check(
        _ data: ByteBuffer,
        total: Int,
        validator: inout UTF8Validation.Validator?,
        final: Bool
    ) -> Action? {
        guard total <= maxMessageSize else {
            return fail(WebSocketCloseCode.messageTooBig, "message over \(maxMessageSize) bytes")
        }
        guard validator != nil else { return nil }
        for byte in data.readableBytesView where !validator!.consume(byte) {
            return fail(WebSocketCloseCode.invalidPayload, "text is not valid UTF-8")
        }
        if final && !validator!.isComplete { return fail(WebSocketCloseCode.invalidPayload, "text is not valid UTF-8") }
        return nil
    }

    private mutating func fail(_ code: UInt16, _ reason: String) -> Action {
        state = .closed
        return .fail(code: code, reason: reason)
    }

    /// Close codes a peer may send (RFC 6455 §7.4.1-2; 1004-1006 and 1015 must never be sent; IANA registry).
    package static func isValidReceivedCloseCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: return true
        default: return false
        }
    }
}
