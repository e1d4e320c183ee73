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

/// `switchboard subscribe CHANNEL...`: prints messages as they arrive, over SSE.
struct Subscribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print messages of one or more channels as they arrive (Server-Sent Events).",
        discussion: "Each message's id is printed to standard error with --verbose; pass it to --since to resume."
    )

    @Argument(help: "The channels.")
    var channels: [String]

    @Option(name: .long, help: "The server's base URL (http:// or https://).")
    var server = "http://127.0.0.1:8000"

    @Option(name: .long, help: "PEM certificates to trust for an https:// server, besides the system's.")
    var caFile: String?

    @Option(name: .long, help: "Resume after this message id (EPOCH:OFFSET; one per channel, comma-separated).")
    var since: String?

    @Flag(name: .long, help: "Print one JSON object per message: {\"id\",\"channel\",\"event\",\"data\"}.")
    var json = false

    @Option(name: .long, help: "Exit after this many messages.")
    var count: Int?

    @Flag(name: .long, help: "Print ids, gaps and notices to standard error.")
    var verbose = false

    func run() async throws {
        guard let url = HTTPURL(server) else {
            throw ValidationError("--server must look like http://HOST:PORT or https://HOST:PORT")
        }
        var headers = [("Accept", "text/event-stream")]
        if let since { headers.append(("Last-Event-ID", since)) }
        var parser = SSEParser(channels: channels)
        var received = 0
        var failure: String?
        var status = HTTPResponseStatus.ok
        let client = try HTTPClient(extraTrustFile: caFile, usesTLS: url.usesTLS)
        try await client.send(
            .GET,
            url,
            path: "/sub/" + channels.joined(separator: ","),
            headers: headers,
            onHead: { head in
                status = head.status
                if let gap = head.headers.first(name: "switchboard-gap"), verbose { printError("gap: \(gap)") }
            },
            onBody: { chunk in
                guard status == .ok else {
                    failure = String(buffer: chunk)
                    return false
                }
                for event in parser.feed(chunk) {
                    if try handle(event) {
                        received += 1
                        if let count, received >= count { return false }
                    }
                }
                return true
            }
        )
        if let failure { printError("subscribe failed: \(status.code): \(failure.trimmingTrailingNewlines)") }
        if status != .ok { throw ExitCode(1) }
    }

    /// Prints one event; returns whether it was a message (not a notice).
    private func handle(_ event: SSEParser.Event) throws -> Bool {
        if event.event.hasPrefix("switchboard-") {
            if verbose || event.event != "switchboard-gap" { printError("\(event.event): \(event.data)") }
            if event.event == "switchboard-disconnect" || event.event == "switchboard-channel-deleted" {
                throw ExitCode(3)
            }
            return false
        }
        if verbose { printError("id: \(event.id)") }
        if json {
            var line = "{\"id\":\(jsonString(event.id)),\"channel\":\(jsonString(event.channel))"
            line +=
                ",\"event\":\(event.event == "message" ? "null" : jsonString(event.event)),\"data\":\(jsonString(event.data))}"
            printLine(line)
        } else {
            printLine(event.data)
        }
        return true
    }

    private func jsonString(_ text: String) -> String {
        var buffer = ByteBuffer()
        JSONWriter.writeString(text, into: &buffer)
        return String(buffer: buffer)
    }
}

/// An incremental Server-Sent Events parser (WHATWG HTML "Event stream interpretation"), enough for the CLI.
struct SSEParser {
    struct Event {
        var id: String
        var event: String
        var data: String
        var channel: String
    }

    /// The subscription's channels, to tell which one a message came from.
    let channels: [String]
    private var pending: [UInt8] = []

    init(channels: [String]) {
        self.channels = channels
    }

    private var dataLines: [String] = []
    private var eventName = ""
    private var lastID = ""
    private var previousParts: [Substring] = []

    mutating func feed(_ chunk: ByteBuffer) -> [Event] {
        pending.append(contentsOf: chunk.readableBytesView)
        var events: [Event] = []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            var lineBytes = pending[..<newline]
            if lineBytes.last == UInt8(ascii: "\r") { lineBytes = lineBytes.dropLast() }
            let line = Swift.String(decoding: lineBytes, as: UTF8.self)
            pending.removeSubrange(...newline)
            if line.isEmpty {
                if !dataLines.isEmpty {
                    events.append(
                        Event(
                            id: lastID,
                            event: eventName.isEmpty ? "message" : eventName,
                            data: dataLines.joined(separator: "\n"),
                            channel: changedChannel()
                        )
                    )
                }
                dataLines = []
                eventName = ""
                continue
            }
            if line.hasPrefix(":") { continue }
            let (field, value) = split(line)
            switch field {
            case "data": dataLines.append(value)
            case "event": eventName = value
            case "id": lastID = value
            default: break
            }
        }
        return events
    }

    private func split(_ line: Swift.String) -> (Swift.String, Swift.String) {
        guard let colon = line.firstIndex(of: ":") else { return (line, "") }
        var value = line[line.index(after: colon)...]
        if value.hasPrefix(" ") { value = value.dropFirst() }
        return (Swift.String(line[..<colon]), Swift.String(value))
    }

    /// The channel of the latest event: the only one, or the one whose part of a multi-channel compound id
    /// (`EPOCH:OFFSET,EPOCH:OFFSET`, in subscription order) moved.
    private mutating func changedChannel() -> Swift.String {
        guard channels.count > 1 else { return channels.first ?? "" }
        let parts = lastID.split(separator: ",", omittingEmptySubsequences: false)
        defer { previousParts = parts }
        guard parts.count == channels.count else { return "" }
        for index in parts.indices where index >= previousParts.count || parts[index] != previousParts[index] {
            return channels[index]
        }
        return ""
    }
}
