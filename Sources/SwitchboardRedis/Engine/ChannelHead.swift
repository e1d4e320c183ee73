import SwitchboardCore

extension ChannelHead {
    /// Reads the reply to `HMGET meta e s pe ps`.
    init?(_ reply: RESPValue) {
        guard let fields = reply.elements, fields.count == 4 else { return nil }
        self.init(
            epoch: fields[0].string,
            offset: fields[1].integer.map { UInt64(max(0, $0)) } ?? 0,
            fencedEpoch: fields[2].string,
            fenceOffset: fields[3].integer.map { UInt64(max(0, $0)) } ?? 0
        )
    }
}
