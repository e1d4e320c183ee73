import NIOCore

/// The few parts of a server frame the benchmark needs, found without building strings for every header:
/// the command, the `ack` / `receipt-id` / `message` values and where the body is.
struct STOMPServerFrame {
    enum Command { case message, receipt, connected, error, other }

    var command: Command
    var ack: String?
    var receiptID: String?
    var errorMessage: String?
    var body: ByteBuffer
}

/// Splits a byte stream from a STOMP server into frames (content-length bodies, or up to the NUL).
struct STOMPWireReader {
    private var buffer = ByteBuffer()

    mutating func append(_ bytes: inout ByteBuffer) {
        if buffer.readableBytes == 0 {
            buffer = bytes
        } else {
            buffer.writeBuffer(&bytes)
        }
    }

    /// The next complete frame, or nil when more bytes are needed.
    mutating func next() -> STOMPServerFrame? {
        // Heart-beats and EOLs between frames.
        while let byte = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
            byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
        {
            buffer.moveReaderIndex(forwardBy: 1)
        }
        let view = buffer.readableBytesView
        guard let headerEnd = Self.blankLine(in: view) else { return nil }
        let start = view.startIndex
        var frame = STOMPServerFrame(command: .other, body: ByteBuffer())
        var contentLength: Int?
        var lineStart = start
        var first = true
        var index = start
        while index <= headerEnd {
            if view[index] == UInt8(ascii: "\n") {
                let line = view[lineStart..<index]
                if first {
                    frame.command = Self.command(line)
                    first = false
                } else if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
                    let name = line[lineStart..<colon]
                    let value = line[(colon + 1)...]
                    if Self.equals(name, "content-length") {
                        contentLength = Int(String(decoding: value, as: UTF8.self))
                    } else if Self.equals(name, "ack") {
                        frame.ack = String(decoding: value, as: UTF8.self)
                    } else if Self.equals(name, "receipt-id") {
                        frame.receiptID = String(decoding: value, as: UTF8.self)
                    } else if Self.equals(name, "message") {
                        frame.errorMessage = String(decoding: value, as: UTF8.self)
                    }
                }
                lineStart = index + 1
            }
            index += 1
        }
        let bodyStart = headerEnd + 2 - start
        let total: Int
        if let contentLength {
            guard view.count >= bodyStart + contentLength + 1 else { return nil }
            total = bodyStart + contentLength + 1
            frame.body = buffer.getSlice(at: buffer.readerIndex + bodyStart, length: contentLength)!
        } else {
            guard let nul = view[(start + bodyStart)...].firstIndex(of: 0) else { return nil }
            let length = nul - start - bodyStart
            frame.body = buffer.getSlice(at: buffer.readerIndex + bodyStart, length: length)!
            total = bodyStart + length + 1
        }
        buffer.moveReaderIndex(forwardBy: total)
        if buffer.readableBytes == 0 { buffer.clear() }
        return frame
    }

    private static func command(_ line: ByteBufferView.SubSequence) -> STOMPServerFrame.Command {
        if equals(line, "MESSAGE") { return .message }
        if equals(line, "RECEIPT") { return .receipt }
        if equals(line, "CONNECTED") { return .connected }
        if equals(line, "ERROR") { return .error }
        return .other
    }

    @inline(__always)
    private static func equals(_ bytes: ByteBufferView.SubSequence, _ text: StaticString) -> Bool {
        guard bytes.count == text.utf8CodeUnitCount else { return false }
        var pointer = text.utf8Start
        for byte in bytes {
            guard byte == pointer.pointee else { return false }
            pointer += 1
        }
        return true
    }

    /// Where the header section ends (the first of two LFs). CRLF servers are not benchmarked.
    private static func blankLine(in view: ByteBufferView) -> ByteBufferView.Index? {
        var index = view.startIndex
        let end = view.endIndex
        while index + 1 < end {
            if view[index] == UInt8(ascii: "\n") && view[index + 1] == UInt8(ascii: "\n") { return index }
            index += 1
        }
        return nil
    }
}
