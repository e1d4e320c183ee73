package import NIOCore

/// Something that needs a keep-alive tick every ping interval (a subscriber connection).
package protocol KeepAliveParticipant: AnyObject {
    /// Called on the participant's event loop about once per ping interval (removals reorder the round, so
    /// a participant may occasionally be ticked early: it checks the time itself where that matters).
    func keepAliveTick()
}

/// One repeating timer per event loop for every connection on it, instead of one timer per connection:
/// a scheduled task costs memory and a heap entry in the loop's timer queue, and 15,000 of them per loop
/// add up. Confined to its event loop.
///
/// The timer fires every 100 ms and ticks the next slice of its participants, so each is ticked once per
/// interval but the work is spread out: ticking 10,000 connections at once writes 10,000 pings in one go
/// and holds up every message behind them for ~100 ms.
package final class KeepAliveTimer {
    private let eventLoop: any EventLoop
    private let slices: Int
    private let step: TimeAmount
    /// How often each participant is ticked.
    package let interval: TimeAmount
    private var participants: [any KeepAliveParticipant] = []
    private var indices: [ObjectIdentifier: Int] = [:]
    private var cursor = 0
    private var due = 0.0
    private var task: RepeatedTask?

    package init(eventLoop: any EventLoop, interval: TimeAmount) {
        self.eventLoop = eventLoop
        self.interval = interval
        self.step = min(.milliseconds(100), interval)
        self.slices = max(1, Int(interval.nanoseconds / step.nanoseconds))
    }

    package func add(_ participant: any KeepAliveParticipant) {
        indices[ObjectIdentifier(participant)] = participants.count
        participants.append(participant)
        guard task == nil else { return }
        let timer = NIOLoopBound(self, eventLoop: eventLoop)
        task = eventLoop.scheduleRepeatedTask(initialDelay: step, delay: step) { _ in timer.value.tick() }
    }

    /// Removes `participant` in constant time (the last one takes its place).
    package func remove(_ participant: any KeepAliveParticipant) {
        guard let index = indices.removeValue(forKey: ObjectIdentifier(participant)) else { return }
        let last = participants.removeLast()
        if index < participants.count {
            participants[index] = last
            indices[ObjectIdentifier(last)] = index
        }
    }

    private func tick() {
        guard !participants.isEmpty else {
            due = 0
            return
        }
        // Each 100 ms step ticks 1/slices of the participants, carrying the fraction over, so every one is
        // ticked once per interval however few there are.
        due += Double(participants.count) / Double(slices)
        let count = Int(due)
        due -= Double(count)
        guard count > 0 else { return }
        // Ticking may remove participants (a dead peer is closed): take the slice first.
        var slice: [any KeepAliveParticipant] = []
        slice.reserveCapacity(count)
        for _ in 0..<min(count, participants.count) {
            if cursor >= participants.count { cursor = 0 }
            slice.append(participants[cursor])
            cursor += 1
        }
        for participant in slice { participant.keepAliveTick() }
    }
}
