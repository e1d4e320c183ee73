import Atomics
import NIOHTTP1
import SwitchboardCore
import SwitchboardHTTP

extension Endpoints {
    /// `GET /api/queues`: every STOMP queue with its depth, unacknowledged messages and consumers.
    func apiQueues(_ stomp: STOMPService) -> HTTPResponse {
        var json = JSONWriter(allocator: allocator)
        json.beginObject()
        json.beginArray("queues")
        for queue in stomp.queues.statistics() {
            json.beginObject()
            json.string("name", queue.name)
            json.integer("messages", queue.messages)
            json.integer("bytes", queue.bytes)
            json.integer("unacked", queue.unacked)
            json.integer("consumers", queue.consumers)
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return .json(.ok, json)
    }

    /// The `stomp` object of `/stats`.
    static func writeSTOMPStatistics(_ stomp: STOMPService, into json: inout JSONWriter) {
        let counters = stomp.counters
        let queues = stomp.queues.statistics()
        json.beginObject("stomp")
        json.beginObject("connections")
        json.integer("tcp", counters.tcpConnections.load(ordering: .relaxed))
        json.integer("websocket", counters.webSocketConnections.load(ordering: .relaxed))
        json.endObject()
        json.beginObject("subscriptions")
        json.integer("topic", counters.topicSubscriptions.load(ordering: .relaxed))
        json.integer("queue", counters.queueSubscriptions.load(ordering: .relaxed))
        json.endObject()
        json.beginObject("queues")
        json.integer("count", queues.count)
        json.integer("messages", queues.reduce(0) { $0 + $1.messages })
        json.integer("unacked", queues.reduce(0) { $0 + $1.unacked })
        json.integer("dropped_replies", stomp.queues.droppedReplies.load(ordering: .relaxed))
        json.endObject()
        json.integer("frames_received", counters.framesReceived.load(ordering: .relaxed))
        json.integer("errors_sent", counters.errorsSent.load(ordering: .relaxed))
        json.endObject()
    }
}
