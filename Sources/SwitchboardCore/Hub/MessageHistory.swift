import DequeModule
import NIOCore

/// A channel's bounded history: the last `capacity` messages not older than `ttl`.
///
/// A value type with no clock of its own: callers pass `now` (milliseconds since the Unix epoch).
struct MessageHistory {
    private(set) var messages: Deque<Message> = []
    let capacity: Int
    let ttlMilliseconds: Int64
    /// The retained bytes of the messages kept (``Message/retainedBytes``), for the memory budget.
    private(set) var bytes = 0

    init(capacity: Int, ttlMilliseconds: Int64) {
        self.capacity = max(0, capacity)
        self.ttlMilliseconds = ttlMilliseconds
    }

    var isEmpty: Bool { messages.isEmpty }
    var count: Int { messages.count }
    var first: Message? { messages.first }

    /// The bytes the next ``append(_:now:)`` drops to make room (the oldest message, when history is full).
    var bytesEvictedByAppend: Int {
        messages.count == capacity ? messages.first?.retainedBytes ?? 0 : 0
    }

    /// Keeps `message`, dropping the oldest when full and whatever is older than the time limit; returns
    /// the retained bytes dropped.
    @discardableResult
    mutating func append(_ message: Message, now: Int64) -> Int {
        guard capacity > 0 else { return 0 }
        var dropped = 0
        if messages.count == capacity { dropped += removeOldest() }
        messages.append(message)
        bytes += message.retainedBytes
        return dropped + expire(now: now)
    }

    /// Drops messages older than the time limit; returns their retained bytes.
    @discardableResult
    mutating func expire(now: Int64) -> Int {
        let cutoff = now - ttlMilliseconds
        var dropped = 0
        while let oldest = messages.first, oldest.timestamp <= cutoff {
            dropped += removeOldest()
        }
        return dropped
    }

    /// Drops every message; returns their retained bytes.
    mutating func removeAll() -> Int {
        defer {
            messages.removeAll()
            bytes = 0
        }
        return bytes
    }

    /// Drops the messages after `offset` (a mirror whose engine lost them); returns their retained bytes.
    mutating func removeMessages(after offset: UInt64) -> Int {
        var dropped = 0
        while let newest = messages.last, newest.position.offset > offset {
            let removed = messages.removeLast().retainedBytes
            bytes -= removed
            dropped += removed
        }
        return dropped
    }

    private mutating func removeOldest() -> Int {
        let removed = messages.removeFirst().retainedBytes
        bytes -= removed
        return removed
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

extension ResumeResult {
    /// The result cut to the newest messages whose payloads fit in `bytes` (at least none, at most all):
    /// a reply must not make a connection hold more than its output budget. When messages are left out,
    /// the gap says so (`too-large`, unless there was a gap already).
    public func limited(toBytes bytes: Int) -> ResumeResult {
        var total = 0
        var start = messages.endIndex
        while start > messages.startIndex {
            let size = messages[start - 1].payload.readableBytes
            guard total + size <= bytes else { break }
            total += size
            start -= 1
        }
        guard start > messages.startIndex else { return self }
        return ResumeResult(messages: Array(messages[start...]), gap: gap ?? .tooLarge, position: position)
    }
}

extension MessageHistory {
    /// Decides what a subscriber resuming from `requested` receives, given the channel's epoch and last offset.
    func resume(
        from requested: StreamPosition?,
        epoch: String,
        lastOffset: UInt64,
        fence: StreamPosition? = nil,
        limit: Int = .max
    ) -> ResumeResult {
        let current = StreamPosition(epoch: epoch, offset: lastOffset)
        guard var requested else {
            return ResumeResult(messages: [], gap: nil, position: current)
        }
        if let fence, requested.epoch == fence.epoch {
            // From the epoch before a fence (a change of the engine's primary): what is stored after the
            // position is exact — offsets continue across the fence — but messages after the fence's offset
            // may have been lost, and the position may even name one of them: replay from no later than the
            // fence, and say so.
            requested = StreamPosition(epoch: epoch, offset: min(requested.offset, fence.offset))
            var result = resume(from: requested, epoch: epoch, lastOffset: lastOffset, limit: limit)
            result.gap = result.gap ?? .possibleLoss
            return result
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
