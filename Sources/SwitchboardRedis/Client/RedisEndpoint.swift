/// Where a Redis server is and how to log in: `redis://[user[:password]@]host[:port][/db]`, or
/// `rediss://` for TLS.
public struct RedisEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int
    public var tls: Bool

    public init(
        host: String,
        port: Int = 6379,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        tls: Bool = false
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
    }

    /// Reads a `redis://` or `rediss://` URL; a bare `host:port` is taken as `redis://host:port`. Throws a
    /// message naming what is wrong.
    public init(url: String) throws(RedisEndpointError) {
        var rest = Substring(url)
        if rest.hasPrefix("redis://") {
            rest = rest.dropFirst("redis://".count)
            tls = false
        } else if rest.hasPrefix("rediss://") {
            rest = rest.dropFirst("rediss://".count)
            tls = true
        } else if rest.contains("://") {
            throw RedisEndpointError("'\(url)': the scheme must be redis:// or rediss://")
        } else {
            tls = false
        }
        username = nil
        password = nil
        database = 0
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = Self.percentDecoded(credentials[..<colon])
                username = user.isEmpty ? nil : user
                password = Self.percentDecoded(credentials[credentials.index(after: colon)...])
            } else {
                // redis://secret@host: one word is the password (the `default` user), as redis-cli reads it.
                password = Self.percentDecoded(credentials)
            }
        }
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard let number = Int(path), number >= 0 else {
                    throw RedisEndpointError("'\(url)': the database after '/' must be a number")
                }
                database = number
            }
        }
        if rest.hasPrefix("[") {
            // [::1]:6379
            guard let close = rest.firstIndex(of: "]") else { throw RedisEndpointError("'\(url)': unclosed '['") }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            rest = rest[rest.index(after: close)...]
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            rest = rest[colon...]
        } else {
            host = String(rest)
            rest = ""
        }
        port = 6379
        if rest.hasPrefix(":") {
            guard let number = Int(rest.dropFirst()), (1...65535).contains(number) else {
                throw RedisEndpointError("'\(url)': the port must be a number from 1 to 65535")
            }
            port = number
        } else if !rest.isEmpty {
            throw RedisEndpointError("'\(url)': unexpected '\(rest)' after the host")
        }
        guard !host.isEmpty else { throw RedisEndpointError("'\(url)': no host") }
    }

    /// The URL without its password, for logs and `/healthz`.
    public var description: String {
        let scheme = tls ? "rediss" : "redis"
        let user = username.map { "\($0)@" } ?? (password != nil ? "***@" : "")
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(user)\(hostPart):\(port)" + (database == 0 ? "" : "/\(database)")
    }

    private static func percentDecoded(_ text: Substring) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A Redis URL that cannot be read.
public struct RedisEndpointError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
