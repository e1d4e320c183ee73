import DequeModule

/// A channel's bounded history: the last `capacity` messages not older than `ttl`.
///
/// A value type with no clock of its own: callers pass `now` (milliseconds since the Unix epoch).
struct MessageHistory {
    private(set) var messages: Deque<Message> = []
    let capacity: Int
    let ttlMilliseconds: Int64

    init(capacity: Int, ttlMilliseconds: Int64) {
        self.capacity = max(0, capacity)
        self.ttlMilliseconds = ttlMilliseconds
    }

    var isEmpty: Bool { messages.isEmpty }
    var count: Int { messages.count }
    var first: Message? { messages.first }

    mutating func append(_ message: Message, now: Int64) {
        guard capacity > 0 else { return }
        if messages.count == capacity { messages.removeFirst() }
        messages.append(message)
        expire(now: now)
    }

    /// Drops messages older than the time limit.
    mutating func expire(now: Int64) {
        let cutoff = now - ttlMilliseconds
        while let oldest = messages.first, oldest.timestamp <= cutoff {
            messages.removeFirst()
        }
    }

    /// The messages after `offset`, oldest first, at most `limit` of them.
    func messages(after offset: UInt64, limit: Int = .max) -> [Message] {
        guard let firstOffset = messages.first?.position.offset, limit > 0 else { return [] }
        // Offsets within an epoch are consecutive, so the start index is computed, not searched.
        let start = offset < firstOffset ? 0 : Int(min(offset - firstOffset + 1, UInt64(messages.count)))
        let end = min(messages.count, start + min(limit, messages.count))
        return Array(messages[start..<end])
    }
}

/// What a subscriber resuming from a position gets: the messages it missed and, if it missed more than
/// history still holds, why.
public struct ResumeResult: Sendable {
    /// The messages after the requested position that are still in history, oldest first.
    public var messages: [Message]
    /// Set when the requested position could not be served exactly.
    public var gap: GapReason?
    /// The position the subscription starts from after `messages`.
    public var position: StreamPosition

    /// Creates a result.
    public init(messages: [Message], gap: GapReason?, position: StreamPosition) {
        self.messages = messages
        self.gap = gap
        self.position = position
    }
}

extension MessageHistory {
    /// Decides what a subscriber resuming from `requested` receives, given the channel's epoch and last offset.
    func resume(from requested: StreamPosition?, epoch: String, lastOffset: UInt64, limit: Int = .max) -> ResumeResult {
        let current = StreamPosition(epoch: epoch, offset: lastOffset)
        guard let requested else {
            return ResumeResult(messages: [], gap: nil, position: current)
        }
        guard requested.epoch == epoch else {
            return ResumeResult(messages: messages(after: 0, limit: limit), gap: .newEpoch, position: current)
        }
        guard requested.offset < lastOffset else {
            // Up to date (or ahead, which can only be a client's mistake): nothing missed.
            return ResumeResult(messages: [], gap: nil, position: current)
        }
        let firstKept = messages.first?.position.offset ?? lastOffset + 1
        let gap: GapReason? = firstKept > requested.offset + 1 ? .tooOld : nil
        return ResumeResult(messages: messages(after: requested.offset, limit: limit), gap: gap, position: current)
    }
}
