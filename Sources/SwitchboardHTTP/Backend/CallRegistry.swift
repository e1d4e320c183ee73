import Atomics
package import NIOCore
import Synchronization

/// Calls from the back end to pages (`POST /api/call`) waiting for their answer: the page gets a `call`
/// push with the call's number and answers with the `answer` command; the first answer completes the call.
package final class CallRegistry: Sendable {
    /// What a page answered: a JSON result, or an error message.
    package enum Answer: Sendable, Equatable {
        case result(String)
        case error(String)
    }

    /// A call for a page, pushed to it by its connection.
    package struct CallRequest: Sendable {
        package var id: UInt64
        package var method: String
        /// The call's data, as JSON text.
        package var data: String

        package init(id: UInt64, method: String, data: String) {
            self.id = id
            self.method = method
            self.data = data
        }
    }

    private let nextID = ManagedAtomic<UInt64>(1)
    private let pending = Mutex<[UInt64: EventLoopPromise<Answer>]>([:])

    /// A new call, answered through the returned future (or failed with ``Timeout`` after `timeout`).
    package func start(
        on eventLoop: any EventLoop,
        timeout: TimeAmount
    ) -> (id: UInt64, answer: EventLoopFuture<Answer>) {
        let id = nextID.loadThenWrappingIncrement(ordering: .relaxed)
        let promise = eventLoop.makePromise(of: Answer.self)
        pending.withLock { $0[id] = promise }
        eventLoop.scheduleTask(in: timeout) {
            if let expired = self.pending.withLock({ $0.removeValue(forKey: id) }) { expired.fail(Timeout()) }
        }
        return (id, promise.futureResult)
    }

    /// Completes call `id`; false when it is unknown or already answered or expired.
    package func answer(_ id: UInt64, _ answer: Answer) -> Bool {
        guard let promise = pending.withLock({ $0.removeValue(forKey: id) }) else { return false }
        promise.succeed(answer)
        return true
    }

    /// Ends call `id` without an answer (nobody could be asked).
    package func cancel(_ id: UInt64) {
        pending.withLock { $0.removeValue(forKey: id) }?.fail(Timeout())
    }

    package struct Timeout: Error {}
}
