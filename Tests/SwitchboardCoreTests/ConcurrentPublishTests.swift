import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SwitchboardCore
import Testing

/// Publishers on several threads, one subscriber on a real event loop: every message arrives, in order.
@Suite("Hub under concurrent publishers")
struct ConcurrentPublishTests {
    /// Counts deliveries and checks that positions only go up. Used on its event loop only.
    final class OrderChecker: ChannelSubscriber, @unchecked Sendable {
        var count = 0
        var lastOffset: UInt64 = 0
        var outOfOrder = 0

        func deliver(_ delivery: Delivery, on subscription: Subscription, flush: Bool) {
            let offset = delivery.message.position.offset
            if offset <= lastOffset { outOfOrder += 1 }
            lastOffset = offset
            count += 1
        }

        func channelDeleted(_ subscription: Subscription) {}
    }

    @Test("four threads publishing to one channel lose nothing and keep position order")
    func concurrentPublishers() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let hub = Hub(configuration: .init(historySize: 0))
        let channel = ChannelName(unchecked: "race")
        let checker = OrderChecker()
        try await loop.submit { _ = try hub.subscribe(checker, to: channel, from: nil, format: nil, on: loop) }.get()
        let publishers = 4
        let perPublisher = 5_000
        await withTaskGroup(of: Void.self) { tasks in
            for _ in 0..<publishers {
                tasks.addTask {
                    for index in 0..<perPublisher {
                        try! hub.publish(PublishRequest(payload: ByteBuffer(string: "\(index)")), to: channel)
                    }
                }
            }
        }
        // Let the loop drain what is queued.
        let total = publishers * perPublisher
        for _ in 0..<500 {
            if try await loop.submit({ checker.count }).get() == total { break }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        let (count, outOfOrder) = try await loop.submit { (checker.count, checker.outOfOrder) }.get()
        #expect(count == total)
        #expect(outOfOrder == 0)
    }
}
