#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's file-descriptor limit, and the default of `limits.max_connections` it allows.
enum ConnectionLimits {
    /// Raises the soft descriptor limit to the hard one (as servers do: the soft default, often 1024 or
    /// 256, is meant for interactive programs) and returns the soft limit now in force.
    static func raiseDescriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            #if canImport(Darwin)
            raised.rlim_cur = min(raised.rlim_cur, rlim_t(OPEN_MAX))  // macOS refuses more than OPEN_MAX
            #endif
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        // RLIM_INFINITY is all ones.
        return limit.rlim_cur >= rlim_t(Int.max) ? 1 << 20 : Int(limit.rlim_cur)
    }

    /// The default of `limits.max_connections` under a limit of `descriptors`: all of them but a reserve
    /// for what else needs descriptors (listeners, back-end requests, bridged TCP connections, files) —
    /// a tenth, at least 256, but never more than half.
    static func defaultMaxConnections(descriptors: Int) -> Int {
        max(1, descriptors - min(max(256, descriptors / 10), descriptors / 2))
    }
}
