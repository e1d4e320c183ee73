public import SwitchboardCore

/// Where a STOMP frame points: a channel, a shared queue, or a queue private to the connection.
public enum STOMPDestination: Sendable, Equatable {
    /// `/topic/NAME`: the Switchboard channel NAME.
    case topic(ChannelName)
    /// `/queue/NAME`: a point-to-point queue.
    case queue(String)

    /// The prefix of temporary queues' real names: `/queue/temp.SESSION.NAME`.
    static let temporaryQueuePrefix = "temp."

    /// Parses a destination header. `/temp-queue/NAME` becomes the connection's private queue, named with
    /// `session`.
    static func parse(
        _ text: String,
        session: String,
        maxNameLength: Int
    ) -> Result<(STOMPDestination, temporaryName: String?), STOMPSessionError> {
        func name(after prefix: String) -> Result<ChannelName, STOMPSessionError> {
            let raw = String(text.dropFirst(prefix.count))
            do {
                return .success(try ChannelName(validating: raw, maxLength: maxNameLength))
            } catch {
                return .failure(.badDestination(text, "The \(error)."))
            }
        }
        if text.hasPrefix("/topic/") {
            return name(after: "/topic/").map { (.topic($0), nil) }
        }
        if text.hasPrefix("/queue/") {
            return name(after: "/queue/").map { (.queue($0.rawValue), nil) }
        }
        if text.hasPrefix("/temp-queue/") {
            return name(after: "/temp-queue/").map {
                (.queue(temporaryQueueName($0.rawValue, session: session)), $0.rawValue)
            }
        }
        return .failure(
            .badDestination(text, "Destinations are /topic/NAME (a channel), /queue/NAME or /temp-queue/NAME.")
        )
    }

    static func temporaryQueueName(_ name: String, session: String) -> String {
        "\(temporaryQueuePrefix)\(session).\(name)"
    }

    /// The destination as written in frames.
    public var text: String {
        switch self {
        case .topic(let channel): return "/topic/\(channel.rawValue)"
        case .queue(let name): return "/queue/\(name)"
        }
    }
}

/// How a subscription's messages are acknowledged.
public enum STOMPAckMode: String, Sendable {
    case auto
    case client
    case clientIndividual = "client-individual"
}
