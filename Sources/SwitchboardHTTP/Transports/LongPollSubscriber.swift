import Atomics
import NIOCore
import NIOHTTP1
import SwitchboardCore

/// One long-poll request: answers with the next message after the client's position, or `204` after the
/// timeout, and ends its subscriptions as soon as it has answered.
package final class LongPollSubscriber: ChannelSubscriber {
    private let service: HTTPService
    private let eventLoop: any EventLoop
    private var subscriptions: SubscriptionSet
    private var completion: ((HTTPResponse) -> Void)?
    private var timeout: Scheduled<Void>?
    private var gap: GapReason?

    init(service: HTTPService, channels: [ChannelName], eventLoop: any EventLoop) {
        self.service = service
        self.eventLoop = eventLoop
        self.subscriptions = SubscriptionSet(channels: channels)
    }

    /// Subscribes. Returns the answer when it is already known (a missed message, or a gap with nothing to
    /// deliver); otherwise waits and calls `completion` later, exactly once. (With a shared engine, a channel
    /// this node does not mirror yet is made ready first; the answer then comes through `completion` too.)
    func start(positions: [StreamPosition?], completion: @escaping (HTTPResponse) -> Void) -> HTTPResponse? {
        var immediate: HTTPResponse?
        var returned = false
        let answer = { (response: HTTPResponse?) in
            guard let response else { return }
            if returned { completion(response) } else { immediate = response }
        }
        service.hub.whenReady(subscriptions.channels, on: eventLoop) { [self] in
            guard !isCancelled else { return }
            answer(subscribe(positions: positions, completion: completion))
        } refused: { [self] refusal in
            answer(.error(HTTPError(refusal), allocator: service.allocator))
        }
        returned = true
        return immediate
    }

    private var isCancelled = false

    private func subscribe(positions: [StreamPosition?], completion: @escaping (HTTPResponse) -> Void) -> HTTPResponse?
    {
        let backlog: [Message]
        let gaps: [SubscriptionSet.Gap]
        do {
            (backlog, gaps) = try subscriptions.subscribe(
                self,
                hub: service.hub,
                positions: positions,
                format: nil,
                maxBytes: .max,  // one message per answer
                on: eventLoop
            )
        } catch {
            return .error(HTTPError(error), allocator: service.allocator)
        }
        gap = gaps.first?.reason
        if let first = backlog.first, let tag = subscriptions.index(of: first.channel) {
            subscriptions.advance(to: first, tag: tag)
            subscriptions.unsubscribeAll(hub: service.hub, on: eventLoop)
            return messageResponse(first)
        }
        if gap != nil {
            subscriptions.unsubscribeAll(hub: service.hub, on: eventLoop)
            return emptyResponse()
        }
        self.completion = completion
        service.counters.longPoll.wrappingIncrement(ordering: .relaxed)
        let subscriber = NIOLoopBound(self, eventLoop: eventLoop)
        let delay = TimeAmount.milliseconds(Int64(service.configuration.longPollTimeout * 1000))
        timeout = eventLoop.scheduleTask(in: delay) { subscriber.value.finish(subscriber.value.emptyResponse()) }
        return nil
    }

    /// The client went away: stop waiting without answering.
    func cancel() {
        isCancelled = true
        guard completion != nil else { return }
        completion = nil
        end()
    }

    /// The server is shutting down.
    func shutdown() {
        finish(.error(.shuttingDown, allocator: service.allocator))
    }

    // MARK: ChannelSubscriber

    func deliver(_ delivery: Delivery, on subscription: Subscription, flush: Bool) {
        guard completion != nil else { return }
        subscriptions.advance(to: delivery.message, tag: subscription.tag)
        finish(messageResponse(delivery.message))
    }

    /// A live gap (the shared engine lost messages or began a new epoch): the poll answers at once with
    /// the gap and the new position, as a resume with that gap would.
    func gapped(_ gap: GapReason, from: StreamPosition, on subscription: Subscription) {
        guard completion != nil else { return }
        subscriptions.move(tag: subscription.tag, to: subscription.position)
        self.gap = gap
        finish(emptyResponse())
    }

    func channelDeleted(_ subscription: Subscription) {
        var error = HTTPError(
            status: .gone,
            code: "channel_deleted",
            message: "channel \(subscription.channel) was deleted"
        )
        error.extraHeaders = [("Switchboard-Channel", subscription.channel.rawValue)]
        finish(.error(error, allocator: service.allocator))
    }

    // MARK: Private

    private func finish(_ response: HTTPResponse) {
        guard let completion else { return }
        self.completion = nil
        end()
        completion(response)
    }

    private func end() {
        timeout?.cancel()
        timeout = nil
        service.counters.longPoll.wrappingDecrement(ordering: .relaxed)
        subscriptions.unsubscribeAll(hub: service.hub, on: eventLoop)
    }

    private func messageResponse(_ message: Message) -> HTTPResponse {
        var headers = commonHeaders()
        headers.add(name: "Content-Type", value: message.contentType ?? "application/octet-stream")
        headers.add(name: "Switchboard-Channel", value: message.channel.rawValue)
        if let event = message.eventType { headers.add(name: "Event-Type", value: event) }
        return HTTPResponse(status: .ok, headers: headers, body: message.payload)
    }

    private func emptyResponse() -> HTTPResponse {
        HTTPResponse(status: .noContent, headers: commonHeaders())
    }

    private func commonHeaders() -> HTTPHeaders {
        var headers: HTTPHeaders = [
            "Message-Id": subscriptions.compoundPosition,
            "Cache-Control": "no-cache",
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Expose-Headers": "Message-Id, Switchboard-Channel, Event-Type, Switchboard-Gap",
        ]
        if let gap { headers.add(name: "Switchboard-Gap", value: gap.rawValue) }
        return headers
    }
}
