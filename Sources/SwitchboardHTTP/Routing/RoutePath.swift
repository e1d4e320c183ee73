/// A request path split once for every router that looks at it: `/first` or `/first/rest`.
package struct RoutePath {
    package let full: Substring
    package let first: Substring
    /// What follows the first segment and its `/`; nil when the path has one segment.
    package let rest: Substring?

    /// Nil when the path does not start with `/`.
    package init?(_ path: Substring) {
        let segments = path.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        guard segments.count >= 2, segments[0].isEmpty else { return nil }
        full = path
        first = segments[1]
        rest = segments.count == 3 ? segments[2] : nil
    }

    /// Under `/api/`: the endpoint's name and what follows it (`/api/presence/chat` → `presence`, `chat`).
    package var apiEndpoint: (name: Substring, argument: Substring?)? {
        guard first == "api", let rest else { return nil }
        let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        return (parts[0], parts.count == 2 ? parts[1] : nil)
    }
}
