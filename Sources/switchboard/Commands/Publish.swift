import ArgumentParser
import NIOCore
import NIOHTTP1
import SwitchboardCore
import SwitchboardServer

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `switchboard publish CHANNEL [MESSAGE|-]`: publishes one message with `POST /pub/CHANNEL`.
struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish a message (MESSAGE, or standard input when - or absent)."
    )

    @Argument(help: "The channel.")
    var channel: String

    @Argument(help: "The message; - or nothing reads standard input.")
    var message: String?

    @Option(name: .long, help: "The server's base URL (http:// or https://).")
    var server = "http://127.0.0.1:8000"

    @Option(name: .long, help: "PEM certificates to trust for an https:// server, besides the system's.")
    var caFile: String?

    @Option(name: .long, help: "An event type (SSE event:).")
    var event: String?

    @Option(name: .long, help: "The payload's Content-Type.")
    var contentType: String?

    @Option(name: .long, help: "An API key, sent as Authorization: Bearer KEY (also SWITCHBOARD_API_KEY).")
    var apiKey: String?

    func run() async throws {
        guard let url = HTTPURL(server) else {
            throw ValidationError("--server must look like http://HOST:PORT or https://HOST:PORT")
        }
        var payload = ByteBuffer()
        if let message, message != "-" {
            payload.writeString(message)
        } else {
            payload.writeBytes(readStandardInput())
        }
        var headers: [(String, String)] = []
        if let contentType { headers.append(("Content-Type", contentType)) }
        if let event { headers.append(("Event-Type", event)) }
        if let key = apiKey ?? getenv("SWITCHBOARD_API_KEY").map({ String(cString: $0) }) {
            headers.append(("Authorization", "Bearer \(key)"))
        }
        var status = HTTPResponseStatus.ok
        var answer = ByteBuffer()
        let client = try HTTPClient(extraTrustFile: caFile, usesTLS: url.usesTLS)
        try await client.send(
            .POST,
            url,
            path: "/pub/" + channel,
            headers: headers,
            body: payload,
            onHead: { status = $0.status },
            onBody: { chunk in
                var chunk = chunk
                answer.writeBuffer(&chunk)
                return true
            }
        )
        let text = String(buffer: answer).trimmingTrailingNewlines
        guard (200..<300).contains(status.code) else {
            printError("publish failed: \(status.code) \(status.reasonPhrase): \(text)")
            throw ExitCode(1)
        }
        print(text)
    }

    private func readStandardInput() -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(0, &chunk, chunk.count)
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }
}

extension String {
    var trimmingTrailingNewlines: String {
        var text = self
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        return text
    }
}
