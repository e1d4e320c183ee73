/// A channel's state in Redis: its epoch and last offset, and the fence of its last failover.
public struct ChannelHead: Sendable, Equatable {
    /// The epoch; nil when Redis has no such channel (never published to, deleted, expired or lost).
    public var epoch: String?
    /// The last offset published (0 when none).
    public var offset: UInt64
    /// The epoch before the last fence (a change of primary), and the last offset it reached in what Redis
    /// still holds: positions of that epoch up to it are exact, beyond it they may name lost messages.
    public var fencedEpoch: String?
    public var fenceOffset: UInt64

    public init(epoch: String?, offset: UInt64, fencedEpoch: String? = nil, fenceOffset: UInt64 = 0) {
        self.epoch = epoch
        self.offset = offset
        self.fencedEpoch = fencedEpoch
        self.fenceOffset = fenceOffset
    }

    /// Reads `HMGET meta e s pe ps`.
    init?(_ reply: RESPValue) {
        guard let fields = reply.elements, fields.count == 4 else { return nil }
        epoch = fields[0].string
        offset = fields[1].integer.map { UInt64(max(0, $0)) } ?? 0
        fencedEpoch = fields[2].string
        fenceOffset = fields[3].integer.map { UInt64(max(0, $0)) } ?? 0
    }

    /// The epoch a stored entry at `offset` belongs to: entries up to the fence belong to the epoch before
    /// it (the stream is kept across a fence and its offsets continue).
    func epoch(ofEntryAt entryOffset: UInt64) -> String? {
        if let fencedEpoch, entryOffset <= fenceOffset { return fencedEpoch }
        return epoch
    }
}
