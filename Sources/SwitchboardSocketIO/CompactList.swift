/// A short list of objects that keeps its first element inline: most Socket.IO connections join one
/// namespace and most sockets one room, and an array would cost a heap buffer per connection for it.
struct CompactList<Element: AnyObject>: Sequence {
    private var head: Element?
    private var tail: [Element] = []

    init() {}

    var isEmpty: Bool { head == nil }
    var count: Int { head == nil ? 0 : 1 + tail.count }

    mutating func append(_ element: Element) {
        if head == nil { head = element } else { tail.append(element) }
    }

    /// Removes `element` (by identity), keeping the order of the others.
    mutating func remove(_ element: Element) {
        if head === element {
            head = tail.isEmpty ? nil : tail.removeFirst()
        } else {
            tail.removeAll { $0 === element }
        }
    }

    mutating func removeAll() {
        head = nil
        tail = []
    }

    struct Iterator: IteratorProtocol {
        fileprivate var head: Element?
        fileprivate var tail: IndexingIterator<[Element]>

        mutating func next() -> Element? {
            if let element = head {
                head = nil
                return element
            }
            return tail.next()
        }
    }

    func makeIterator() -> Iterator {
        Iterator(head: head, tail: tail.makeIterator())
    }
}
