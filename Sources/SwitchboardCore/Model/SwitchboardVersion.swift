/// The server's version, as protocols announce it (STOMP `server:Switchboard/VERSION`, `/stats`).
public enum SwitchboardVersion {
    /// The current version.
    public static let current = "0.3.0"
}
