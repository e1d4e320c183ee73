/// Connection lifecycle counts of one worker, shared by its handlers. Confined to the worker's event loop.
final class ConnectionEvents {
    var connected = 0
    var failed = 0
    var closed = 0
    var onConnected: (() -> Void)?

    func connectionSucceeded() {
        connected += 1
        onConnected?()
    }

    func connectionFailed() {
        failed += 1
        onConnected?()
    }
}
