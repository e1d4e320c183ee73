import NIOCore
import SwitchboardCore

/// A subscriber that records what the hub hands it.
final class RecordingSubscriber: ChannelSubscriber {
    var delivered: [Message] = []
    var flushes = 0
    var deleted: [ChannelName] = []
    var gaps: [(GapReason, from: StreamPosition, to: StreamPosition)] = []

    func deliver(_ delivery: Delivery, on subscription: Subscription, flush: Bool) {
        delivered.append(delivery.message)
        if flush { flushes += 1 }
    }

    func channelDeleted(_ subscription: Subscription) {
        deleted.append(subscription.channel)
    }

    func gapped(_ gap: GapReason, from: StreamPosition, on subscription: Subscription) {
        gaps.append((gap, from, subscription.position))
    }

    var texts: [String] { delivered.map { String(buffer: $0.payload) } }
}

/// A clock the test moves by hand.
final class ManualClock: @unchecked Sendable {
    var now: Int64 = 1_000_000
}

func request(_ text: String) -> PublishRequest {
    PublishRequest(payload: ByteBuffer(string: text), contentType: "text/plain")
}
