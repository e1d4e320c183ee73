#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The default of `limits.max_connections`: what the process's file-descriptor limit allows, minus a
/// reserve for what else needs descriptors (listeners, back-end requests, bridged TCP connections,
/// files): a tenth of the limit, at least 256.
enum ConnectionLimits {
    static func defaultMaxConnections() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        // RLIM_INFINITY is all ones.
        let descriptors = limit.rlim_cur >= UInt(Int.max) ? 1 << 20 : Int(limit.rlim_cur)
        return max(1, descriptors - max(256, descriptors / 10))
    }
}
