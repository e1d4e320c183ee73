import NIOCore
import NIOHTTP1
import NIOWebSocket
import SwitchboardCore
import SwitchboardHTTP
import SwitchboardWebSocket

/// STOMP over WebSocket (`/stomp`): the subprotocol choice and the framing of outbound STOMP frames. The
/// shared ``WebSocketConnectionHandler`` passes each message's payload down the pipeline to the STOMP
/// connection handler, the same one that serves STOMP over TCP.
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

    /// The handshake's claim: the best subprotocol offered; messages down the pipeline to the STOMP
    /// connection handler, which has heart-beats of its own (no WebSocket pings).
    static func upgrade(service: HTTPService, stomp: STOMPService, offered headers: HTTPHeaders) -> WebSocketUpgrade {
        WebSocketUpgrade(subprotocol: chooseSubprotocol(offered: headers)) { channel in
            stomp.connectionOpened(channel, webSocket: true)
            return [
                WebSocketUpgrade.sink(nil, service: service, pings: false, on: channel),
                stomp.makeHandler(framing: framing),
            ]
        }
    }
}
