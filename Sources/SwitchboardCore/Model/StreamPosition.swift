/// A position in a channel's stream: `epoch:offset`.
///
/// The epoch is chosen when the channel is created; it changes when the channel is deleted or expires and
/// is created again, so a position from an earlier life of the channel is recognised as such instead of
/// silently pointing at different messages. Offsets start at 1; offset 0 is the position before the first
/// message of an epoch.
public struct StreamPosition: Hashable, Sendable, CustomStringConvertible {
    /// The channel's epoch: a short lowercase base-36 string.
    public var epoch: String
    /// The offset of the last message at or before this position.
    public var offset: UInt64

    /// Creates a position.
    public init(epoch: String, offset: UInt64) {
        self.epoch = epoch
        self.offset = offset
    }

    /// Parses `epoch:offset`; `nil` when the text is not of that form.
    public init?(parsing text: some StringProtocol) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        let epochPart = text[..<colon]
        let offsetPart = text[text.index(after: colon)...]
        guard !epochPart.isEmpty, epochPart.utf8.count <= 32,
            epochPart.utf8.allSatisfy({ ChannelName.isAllowed($0) && $0 != UInt8(ascii: ":") }),
            let offset = UInt64(offsetPart)
        else { return nil }
        self.epoch = String(epochPart)
        self.offset = offset
    }

    public var description: String { "\(epoch):\(offset)" }

    /// Makes a new random epoch (8 base-36 characters, about 41 bits).
    public static func makeEpoch<G: RandomNumberGenerator>(using generator: inout G) -> String {
        RandomID.make(length: 8, using: &generator)
    }
}

/// Why a requested position could not be served exactly.
public enum GapReason: String, Sendable, Equatable {
    /// The position is older than the oldest message still kept in history.
    case tooOld = "too-old"
    /// The position belongs to an earlier epoch of the channel (it was deleted or expired and re-created).
    case newEpoch = "new-epoch"
    /// The missed messages are more bytes than the connection may be sent at once (half of
    /// `limits.max_outbound_bytes`): the newest that fit are sent; the others can be read page by page
    /// from history.
    case tooLarge = "too-large"
    /// The shared engine's primary changed and may have lost the newest messages (an asynchronous replica
    /// was promoted): what is still stored was sent; messages after it may be missing.
    case possibleLoss = "possible-loss"
}
