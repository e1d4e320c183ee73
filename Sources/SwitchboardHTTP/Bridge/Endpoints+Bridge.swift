import Atomics
import SwitchboardCore

extension Endpoints {
    /// The bridge's part of `/stats`: per route, open and total connections, bytes each way, refusals
    /// (before any TCP connection: not allowed, unknown token, limits) and failed connects.
    static func writeBridgeStatistics(_ bridge: BridgeService, into json: inout JSONWriter) {
        json.beginObject("bridge")
        for (route, counters) in bridge.counters {
            json.beginObject(route)
            json.integer("open", counters.open.load(ordering: .relaxed))
            json.integer("total", counters.total.load(ordering: .relaxed))
            json.integer("bytes_to_target", counters.bytesToTarget.load(ordering: .relaxed))
            json.integer("bytes_from_target", counters.bytesFromTarget.load(ordering: .relaxed))
            json.integer("refused", counters.refused.load(ordering: .relaxed))
            json.integer("failed", counters.failed.load(ordering: .relaxed))
            json.endObject()
        }
        json.endObject()
    }
}
