import NIOCore
import NIOHTTP1
import NIOWebSocket
import SwitchboardCore
import SwitchboardSTOMP

/// STOMP over WebSocket (`/stomp`): the subprotocol choice, the framing of outbound STOMP frames, and the
/// handler that turns WebSocket messages into the byte stream the STOMP connection handler reads.
enum STOMPWebSocket {
    /// The subprotocols of STOMP over WebSocket, best first.
    static let subprotocols = ["v12.stomp", "v11.stomp", "v10.stomp"]

    /// The subprotocol to answer for the client's `Sec-WebSocket-Protocol` offer: the best version it
    /// offers, or none (clients that offer none, like RabbitMQ allows, get STOMP all the same).
    static func chooseSubprotocol(offered headers: HTTPHeaders) -> String? {
        // `canonicalForm` splits the comma-separated offers and trims them.
        let offered = Set(headers[canonicalForm: "sec-websocket-protocol"].map { $0.lowercased() })
        return subprotocols.first { offered.contains($0) }
    }

    /// Each STOMP frame goes out as one WebSocket message: text when it is UTF-8, binary otherwise.
    static let framing = STOMPConnectionHandler.Framing { isText, length, buffer in
        WebSocketFrameWriter.writeHeader(opcode: isText ? .text : .binary, length: length, into: &buffer)
    }
}
