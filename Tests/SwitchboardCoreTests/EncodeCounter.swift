import NIOConcurrencyHelpers
import NIOCore
import SwitchboardCore

/// An encoder that counts how often it runs: `<payload>`.
struct EncodeCounter: MessageEncoder {
    let count = NIOLockedValueBox(0)

    func encode(_ message: Message, allocator: ByteBufferAllocator) -> ByteBuffer {
        count.withLockedValue { $0 += 1 }
        return ByteBuffer(string: "<" + String(buffer: message.payload) + ">")
    }
}

/// A subscriber that records the encoded bodies it gets.
final class FormatSubscriber: ChannelSubscriber {
    var bodies: [String] = []

    func deliver(_ delivery: Delivery, on subscription: Subscription, flush: Bool) {
        bodies.append(String(buffer: delivery.encoded(subscription.format!, allocator: ByteBufferAllocator())))
    }

    func channelDeleted(_ subscription: Subscription) {}
}
