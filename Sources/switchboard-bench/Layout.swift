import Foundation

/// Which channels the subscribers are on and which channels are published to.
///
/// Channels are numbered: a message's payload carries its channel's number, and loss is accounted per
/// channel number (``Layout/subscriptions(ofChannel:)``).
enum Layout: Equatable {
    /// Subscriber `i` is on channel `b{i % channels}`.
    case broadcast(channels: Int)
    /// Subscriber `i` is on its personal channel `p{i}` and its group's channel `g{i / groupSize}`.
    case personalGroup(subscribers: Int, groupSize: Int)

    /// Every channel that is published to, by number.
    var channelCount: Int {
        switch self {
        case .broadcast(let channels): return channels
        case .personalGroup(let subscribers, let groupSize):
            return subscribers + (subscribers + groupSize - 1) / groupSize
        }
    }

    func channelName(_ number: Int) -> String {
        switch self {
        case .broadcast: return "b\(number)"
        case .personalGroup(let subscribers, _):
            return number < subscribers ? "p\(number)" : "g\(number - subscribers)"
        }
    }

    /// The channel numbers of subscriber `i`: its channel (`{ch}`) and, if any, its group (`{group}`).
    func channels(ofSubscriber index: Int) -> (channel: Int, group: Int?) {
        switch self {
        case .broadcast(let channels): return (index % channels, nil)
        case .personalGroup(let subscribers, let groupSize): return (index, subscribers + index / groupSize)
        }
    }

    /// How many subscribers are on channel `number`, among the first `subscribers`.
    func subscriptions(ofChannel number: Int, subscribers: Int) -> Int {
        switch self {
        case .broadcast(let channels):
            return subscribers / channels + (number < subscribers % channels ? 1 : 0)
        case .personalGroup(let total, let groupSize):
            if number < total { return 1 }
            let group = number - total
            return min(groupSize, total - group * groupSize)
        }
    }
}

/// A URL with `{ch}` and `{group}` placeholders, split once into host, port and a path template.
struct URLPattern {
    enum Scheme: String { case http, ws }

    let scheme: Scheme
    let host: String
    let port: Int
    let pathTemplate: String

    init?(_ text: String) {
        let scheme: Scheme
        let rest: Substring
        if text.hasPrefix("ws://") {
            scheme = .ws
            rest = text.dropFirst(5)
        } else if text.hasPrefix("http://") {
            scheme = .http
            rest = text.dropFirst(7)
        } else {
            return nil
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        guard let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...])
        else {
            return nil
        }
        self.scheme = scheme
        self.host = String(authority[..<colon])
        self.port = port
        self.pathTemplate = slash == rest.endIndex ? "/" : String(rest[slash...])
    }

    /// The path with the placeholders filled in.
    func path(channel: String, group: String?) -> String {
        var path = pathTemplate.replacingOccurrences(of: "{ch}", with: channel)
        if let group { path = path.replacingOccurrences(of: "{group}", with: group) }
        return path
    }

    var mentionsGroup: Bool { pathTemplate.contains("{group}") }
    var mentionsChannel: Bool { pathTemplate.contains("{ch}") }
}
