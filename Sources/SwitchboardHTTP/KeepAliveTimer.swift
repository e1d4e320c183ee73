import NIOCore

/// Something that needs a keep-alive tick every ping interval (a subscriber connection).
protocol KeepAliveParticipant: AnyObject {
    /// Called on the participant's event loop once per ping interval.
    func keepAliveTick()
}

/// One repeating timer per event loop for every connection on it, instead of one timer per connection:
/// a scheduled task costs memory and a heap entry in the loop's timer queue, and 15,000 of them per loop
/// add up. Confined to its event loop.
final class KeepAliveTimer {
    private let eventLoop: any EventLoop
    private let interval: TimeAmount
    private var participants: [ObjectIdentifier: any KeepAliveParticipant] = [:]
    private var task: RepeatedTask?

    init(eventLoop: any EventLoop, interval: TimeAmount) {
        self.eventLoop = eventLoop
        self.interval = interval
    }

    func add(_ participant: any KeepAliveParticipant) {
        participants[ObjectIdentifier(participant)] = participant
        guard task == nil else { return }
        let timer = NIOLoopBound(self, eventLoop: eventLoop)
        task = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in timer.value.tick() }
    }

    func remove(_ participant: any KeepAliveParticipant) {
        participants.removeValue(forKey: ObjectIdentifier(participant))
    }

    private func tick() {
        // A participant may remove itself (or others) while ticking: iterate over a snapshot.
        for participant in Array(participants.values) { participant.keepAliveTick() }
    }
}
