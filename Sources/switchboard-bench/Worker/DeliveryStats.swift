import Histogram

/// What one worker's subscribers received since the last report. Confined to the worker's event loop.
final class DeliveryStats {
    /// Publish-to-delivery latency in microseconds.
    var latency = Histogram<UInt64>(
        lowestDiscernibleValue: 1,
        highestTrackableValue: 600_000_000,
        numberOfSignificantValueDigits: .three
    )
    /// Messages received for the first time by a connection.
    var unique = 0
    /// Messages a connection had already received.
    var duplicates = 0
    /// Messages that were not benchmark payloads, or for a channel the connection is not on.
    var unexpected = 0

    func reset() {
        latency.reset()
        unique = 0
        duplicates = 0
        unexpected = 0
    }

    /// Records one payload received at `now` by a connection whose last sequence numbers are in `state`.
    @inline(__always)
    func record<Bytes: Collection<UInt8>>(_ bytes: Bytes, now: UInt64, state: inout SubscriptionState) {
        guard let (sequence, channel, sent) = Payload.parse(bytes) else {
            unexpected += 1
            return
        }
        let isNew: Bool
        if channel == state.channel {
            isNew = sequence > state.lastSequence
            if isNew { state.lastSequence = sequence }
        } else if channel == state.group {
            isNew = sequence > state.lastGroupSequence
            if isNew { state.lastGroupSequence = sequence }
        } else {
            unexpected += 1
            return
        }
        guard isNew else {
            duplicates += 1
            return
        }
        unique += 1
        _ = latency.record(now > sent ? (now - sent) / 1000 : 0)
    }
}

/// One connection's channels and the last sequence number seen on each (channel order is guaranteed,
/// so a smaller or equal number is a duplicate).
struct SubscriptionState {
    let channel: Int
    let group: Int?
    var lastSequence = -1
    var lastGroupSequence = -1
}

/// What a worker reports to the coordinator after a step.
struct WorkerReport: Codable {
    var unique: Int
    var duplicates: Int
    var unexpected: Int
    var connected: Int
    var failed: Int
    var closed: Int
    var latency: Histogram<UInt64>
}
