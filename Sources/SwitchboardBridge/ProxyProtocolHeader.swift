import NIOCore
import SwiftGlibc
import SwitchboardHTTP

/// The PROXY protocol v2 header (haproxy's proxy-protocol.txt §2.2) that tells a target the browser's
/// real address: the 12-byte signature, version 2 / PROXY, TCP over IPv4 or IPv6, the addresses and
/// ports. Anything else (a Unix socket) is sent as LOCAL, without addresses. Pure.
enum ProxyProtocolHeader {
    static let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    static func make(source: SocketAddress?, destination: SocketAddress?) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeBytes(signature)
        switch (source, destination) {
        case (.v4(let from)?, .v4(let to)?):
            buffer.writeInteger(UInt8(0x21))  // version 2, PROXY
            buffer.writeInteger(UInt8(0x11))  // TCP over IPv4
            buffer.writeInteger(UInt16(12))
            buffer.writeInteger(UInt32(bigEndian: from.address.sin_addr.s_addr))
            buffer.writeInteger(UInt32(bigEndian: to.address.sin_addr.s_addr))
            buffer.writeInteger(UInt16(from.port))
            buffer.writeInteger(UInt16(to.port))
        case (.v6(let from)?, .v6(let to)?):
            buffer.writeInteger(UInt8(0x21))
            buffer.writeInteger(UInt8(0x21))  // TCP over IPv6
            buffer.writeInteger(UInt16(36))
            withUnsafeBytes(of: from.address.sin6_addr) { _ = buffer.writeBytes($0) }
            withUnsafeBytes(of: to.address.sin6_addr) { _ = buffer.writeBytes($0) }
            buffer.writeInteger(UInt16(from.port))
            buffer.writeInteger(UInt16(to.port))
        default:
            buffer.writeInteger(UInt8(0x20))  // version 2, LOCAL
            buffer.writeInteger(UInt8(0x00))
            buffer.writeInteger(UInt16(0))
        }
        return buffer
    }
}

extension SocketAddress.IPv4Address {
    fileprivate var port: Int { Int(UInt16(bigEndian: address.sin_port)) }
}

extension SocketAddress.IPv6Address {
    fileprivate var port: Int { Int(UInt16(bigEndian: address.sin6_port)) }
}
