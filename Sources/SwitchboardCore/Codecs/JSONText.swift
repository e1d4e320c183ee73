package import Foundation

/// Compact JSON text of values parsed from JSON (command parameters, back-end answers), as the native
/// protocol and the API pass them on: no escaped slashes.
package enum JSONText {
    /// Any JSON value — object, array, string, number, bool or null; nil when `value` is not JSON.
    package static func encode(_ value: Any) -> Data? {
        try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .withoutEscapingSlashes])
    }

    /// An object or array only (client info, commands); nil for anything else.
    package static func encodeContainer(_ value: Any) -> Data? {
        guard JSONSerialization.isValidJSONObject(value) else { return nil }
        return try? JSONSerialization.data(withJSONObject: value, options: [.withoutEscapingSlashes])
    }
}
