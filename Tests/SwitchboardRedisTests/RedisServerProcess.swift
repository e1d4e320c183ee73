import Foundation
import SwitchboardRedis

/// A real `redis-server` on a free loopback port, without persistence, for one test; stopped (and its
/// directory removed) by `stop()`. Debian's redis-server is installed by scripts/test-deps.
final class RedisServerProcess: @unchecked Sendable {
    let port: Int
    let pid: pid_t
    let directory: String

    /// Starts Redis with `arguments` added to its command line (`["--requirepass", "secret"]`).
    init(arguments: [String] = []) throws {
        let directory = NSTemporaryDirectory() + "sb-redis-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
        for _ in 0..<20 {
            let port = Int.random(in: 20_000..<60_000)
            let argv =
                [
                    Self.executable(), "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                    "no",
                    "--dir", directory, "--logfile", directory + "/redis.log",
                ] + arguments
            // posix_spawn, not Foundation's Process: its waitUntilExit hangs when called from a test's task.
            var pid: pid_t = 0
            let cArguments = argv.map { strdup($0) } + [nil]
            defer { for argument in cArguments { free(argument) } }
            guard posix_spawn(&pid, argv[0], nil, nil, cArguments, environ) == 0 else { continue }
            if Self.waitUntilListening(port: port, pid: pid) {
                self.port = port
                self.pid = pid
                return
            }
            Self.terminate(pid)
        }
        throw RedisError(
            .unavailable,
            "could not start redis-server on a free port (is it installed? scripts/test-deps)"
        )
    }

    var endpoint: RedisEndpoint { RedisEndpoint(host: "127.0.0.1", port: port) }

    /// Suspends (`SIGSTOP`) or resumes (`SIGCONT`) the server: a link that is up and silent.
    func pause() { kill(pid, SIGSTOP) }
    func resume() { kill(pid, SIGCONT) }

    func stop() {
        Self.terminate(pid)
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func terminate(_ pid: pid_t) {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    private static func isRunning(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }

    private static func executable() -> String {
        for path in ["/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"]
        where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        return "/usr/bin/redis-server"
    }

    /// Whether the server accepts connections on `port` within 5 s (false when it exited: the port was taken).
    private static func waitUntilListening(port: Int, pid: pid_t) -> Bool {
        for _ in 0..<100 {
            guard isRunning(pid) else { return false }
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            close(fd)
            if connected {
                // Another server may hold the port (ours then exits at once, unable to bind): make sure.
                usleep(100_000)
                return isRunning(pid)
            }
            usleep(50_000)
        }
        return false
    }
}
