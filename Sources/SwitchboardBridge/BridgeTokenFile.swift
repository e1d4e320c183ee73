import Foundation
import SwitchboardHTTP
import Synchronization

/// websockify's token file (its `TokenFile` plugin): one `name: host:port` per line, `#` comments and
/// blank lines ignored. Read again whenever its modification time changes, so tokens can be added and
/// removed while the server runs. Thread-safe.
final class BridgeTokenFile: Sendable {
    private struct Loaded: Sendable {
        var modified: Date?
        var size: Int
        var tokens: [String: BridgeAddress]
    }

    let path: String
    private let loaded = Mutex<Loaded?>(nil)

    init(path: String) {
        self.path = path
    }

    /// The target of `token`, from the file as it is now; nil when the token is unknown (or the file
    /// cannot be read).
    func target(of token: String) -> BridgeAddress? {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let modified = attributes?[.modificationDate] as? Date
        let size = (attributes?[.size] as? NSNumber)?.intValue ?? -1
        return loaded.withLock { loaded -> BridgeAddress? in
            if loaded == nil || loaded?.modified != modified || loaded?.size != size {
                loaded = Loaded(modified: modified, size: size, tokens: Self.read(path))
            }
            return loaded?.tokens[token]
        }
    }

    /// The tokens of a file in websockify's format (malformed lines are skipped).
    static func parse(_ text: String) -> [String: BridgeAddress] {
        var tokens: [String: BridgeAddress] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
            guard let colon = content.firstIndex(of: ":") else { continue }
            let name = content[..<colon].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, let address = BridgeAddress(parsing: content[content.index(after: colon)...])
            else { continue }
            tokens[name] = address
        }
        return tokens
    }

    private static func read(_ path: String) -> [String: BridgeAddress] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        return parse(text)
    }
}
