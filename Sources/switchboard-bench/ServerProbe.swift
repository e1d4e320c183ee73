import Foundation

/// Reads another process's CPU time and resident memory from `/proc` (Linux).
struct ServerProbe {
    let pid: Int32

    struct Sample {
        /// User + system CPU seconds since the process started.
        var cpuSeconds: Double
        /// Resident set size in bytes.
        var rssBytes: Int
        /// When the sample was taken (monotonic seconds).
        var time: Double
    }

    func sample() -> Sample? {
        guard let cpu = Self.cpuSeconds(of: pid) else { return nil }
        var rss = 0
        if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        {
            rss = (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
        }
        return Sample(cpuSeconds: cpu, rssBytes: rss, time: Clock.seconds())
    }

    /// CPU seconds of `pid` and its children — those still running, and those it already waited for —
    /// so a server that forks a process per connection (websockify) is measured whole.
    static func cpuSeconds(of pid: Int32, depth: Int = 0) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after "(comm)": state is field 3; utime 14, stime 15, cutime 16, cstime 17 (proc(5)).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 15, let user = Double(fields[11]), let system = Double(fields[12]),
            let childrenUser = Double(fields[13]), let childrenSystem = Double(fields[14])
        else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var total = (user + system + childrenUser + childrenSystem) / ticks
        guard depth < 4 else { return total }
        for child in children(of: pid) {
            total += cpuSeconds(of: child, depth: depth + 1) ?? 0
        }
        return total
    }

    private static func children(of pid: Int32) -> [Int32] {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return [] }
        return tasks.flatMap { task -> [Int32] in
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)
            else { return [] }
            return text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }
}

enum Clock {
    /// Monotonic nanoseconds (CLOCK_MONOTONIC: the same clock in every process of the machine, so a publisher's
    /// send time and a subscriber's receive time in another process compare).
    @inline(__always)
    static func nanos() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    static func seconds() -> Double { Double(nanos()) / 1e9 }
}
