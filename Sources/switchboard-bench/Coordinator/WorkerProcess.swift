import Foundation
import NIOConcurrencyHelpers

/// A worker child process and the lines it prints, read on a thread of their own.
final class WorkerProcess: @unchecked Sendable {
    // @unchecked: `process` and `input` are used by the coordinator's thread only; `lines` is locked.
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let lines = NIOLockedValueBox<[String]>([])
    /// The latest `PROGRESS` numbers: unique deliveries, connected, closed.
    let progress = NIOLockedValueBox<(Int, Int, Int)>((0, 0, 0))

    init(arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["worker"] + arguments
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let handle = output.fileHandleForReading
        Thread.detachNewThread { [self] in
            var partial = Data()
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                partial.append(data)
                while let newline = partial.firstIndex(of: 0x0A) {
                    let line = String(decoding: partial[partial.startIndex..<newline], as: UTF8.self)
                    partial.removeSubrange(partial.startIndex...newline)
                    received(line)
                }
            }
            received("EOF")
        }
    }

    private func received(_ line: String) {
        if line.hasPrefix("PROGRESS ") {
            let numbers = line.split(separator: " ").dropFirst().compactMap { Int($0) }
            if numbers.count == 3 { progress.withLockedValue { $0 = (numbers[0], numbers[1], numbers[2]) } }
            return
        }
        lines.withLockedValue { $0.append(line) }
    }

    func send(_ command: String) {
        input.fileHandleForWriting.write(Data((command + "\n").utf8))
    }

    /// Waits for the next line starting with `prefix` (other lines are dropped); `nil` on timeout or exit.
    func waitFor(_ prefix: String, timeout: Double) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let found = lines.withLockedValue { lines -> String? in
                while !lines.isEmpty {
                    let line = lines.removeFirst()
                    if line.hasPrefix(prefix) { return line }
                    if line == "EOF" { return "EOF" }
                    FileHandle.standardError.write(Data(("worker: " + line + "\n").utf8))
                }
                return nil
            }
            if let found { return found == "EOF" ? nil : found }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return nil
    }

    func terminate() {
        send("EXIT")
        process.waitUntilExit()
    }
}
