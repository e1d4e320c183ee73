import SwitchboardCore
import SwitchboardSTOMP

/// The STOMP logins, an array of tables in the configuration file:
///
/// ```toml
/// [[stomp.user]]
/// login = "feed"
/// passcode = "..."                  # or passcode_sha256 = "64 hex digits"
/// write = ["prices", "orders.*"]    # channel / queue patterns this login may SEND to
/// read = ["*"]                      # ... may SUBSCRIBE to
/// ```
enum STOMPUsers {
    static let tables = TableArray(
        path: ["stomp", "user"],
        keys: ["login", "passcode", "passcode_sha256", "write", "read"],
        what: "login and passcode"
    )

    static func apply(
        _ document: TOMLDocument,
        source: String,
        to configuration: inout SwitchboardConfiguration
    ) -> [ConfigurationError] {
        var seen = Set(configuration.stompFrontEnd.users.map(\.login))
        var users: [STOMPUser] = []
        let errors = tables.forEach(in: document, source: source) { entry in
            guard let login = entry.string("login"), !login.isEmpty else {
                entry.problem("login must be a non-empty string")
                return
            }
            guard seen.insert(login).inserted else {
                entry.problem("login \(login) is configured twice")
                return
            }
            let grants = ChannelGrants(publish: entry.strings("write") ?? [], subscribe: entry.strings("read") ?? [])
            switch (entry.string("passcode"), entry.string("passcode_sha256")) {
            case (let passcode?, nil):
                users.append(STOMPUser(login: login, passcode: passcode, grants: grants))
            case (nil, let hex?):
                guard let digest = Self.digest(hex) else {
                    entry.problem("passcode_sha256 must be 64 hexadecimal digits (sha256sum of the passcode)")
                    return
                }
                users.append(STOMPUser(login: login, passcodeSHA256: digest, grants: grants))
            default:
                entry.problem("login \(login) needs passcode or passcode_sha256 (one of them)")
            }
        }
        configuration.stompFrontEnd.users += users
        return errors
    }

    /// The 32 bytes written as 64 hex digits, or nil.
    static func digest(_ hex: String) -> [UInt8]? {
        let digits = Array(hex.lowercased().utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: 64, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16) else {
                return nil
            }
            bytes.append(byte)
        }
        return bytes
    }
}
