import Foundation
import SwitchboardCore

/// One configuration option: its TOML key, environment variable, type, default and documentation, and how
/// it sets the configuration. The table in ``ConfigurationOption/all`` is the single source of truth for
/// the loader, `check-config`, the sample file and the README's reference (a test keeps them in step).
public struct ConfigurationOption: Sendable {
    /// The kinds of value an option takes.
    public enum Kind: Sendable {
        case string, integer, number, boolean, stringList, address
    }

    /// A typed value, from TOML or parsed from an environment variable or flag.
    public enum Value: Sendable {
        case string(String)
        case integer(Int)
        case number(Double)
        case boolean(Bool)
        case stringList([String])
    }

    /// The TOML key, `section.name`.
    public let key: String
    /// What it means, for the sample file and the README.
    public let summary: String
    /// The kind of value.
    public let kind: Kind
    /// The default, as written in TOML.
    public let defaultText: String
    let apply: @Sendable (inout SwitchboardConfiguration, Value) throws(ConfigurationProblem) -> Void

    /// The environment variable: `SWITCHBOARD_` + the key in capitals, the `server.` section left out.
    public var environmentVariable: String {
        let name = key.hasPrefix("server.") ? String(key.dropFirst("server.".count)) : key
        return "SWITCHBOARD_" + name.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    /// Sets this option on `configuration`.
    public func apply(_ value: Value, to configuration: inout SwitchboardConfiguration) throws(ConfigurationProblem) {
        try apply(&configuration, value)
    }
}

/// What is wrong with an option's value.
public struct ConfigurationProblem: Error, Sendable {
    /// The message shown to the user.
    public var message: String
}

extension ConfigurationOption {
    static func integer(
        _ key: String,
        _ summary: String,
        default value: Int,
        range: ClosedRange<Int>,
        _ set: @escaping @Sendable (inout SwitchboardConfiguration, Int) -> Void
    ) -> ConfigurationOption {
        ConfigurationOption(key: key, summary: summary, kind: .integer, defaultText: String(value)) {
            configuration,
            input throws(ConfigurationProblem) in
            guard case .integer(let number) = input else {
                throw ConfigurationProblem(message: "\(key) must be an integer")
            }
            guard range.contains(number) else {
                throw ConfigurationProblem(
                    message: "\(key) must be between \(range.lowerBound) and \(range.upperBound), not \(number)"
                )
            }
            set(&configuration, number)
        }
    }

    static func number(
        _ key: String,
        _ summary: String,
        default value: Double,
        range: ClosedRange<Double>,
        _ set: @escaping @Sendable (inout SwitchboardConfiguration, Double) -> Void
    ) -> ConfigurationOption {
        let text = value == value.rounded() ? String(Int(value)) : String(value)
        return ConfigurationOption(key: key, summary: summary, kind: .number, defaultText: text) {
            configuration,
            input throws(ConfigurationProblem) in
            let number: Double
            switch input {
            case .number(let value): number = value
            case .integer(let value): number = Double(value)
            default: throw ConfigurationProblem(message: "\(key) must be a number")
            }
            guard range.contains(number) else {
                throw ConfigurationProblem(
                    message: "\(key) must be between \(range.lowerBound) and \(range.upperBound), not \(number)"
                )
            }
            set(&configuration, number)
        }
    }

    static func boolean(
        _ key: String,
        _ summary: String,
        default value: Bool,
        _ set: @escaping @Sendable (inout SwitchboardConfiguration, Bool) -> Void
    ) -> ConfigurationOption {
        ConfigurationOption(key: key, summary: summary, kind: .boolean, defaultText: String(value)) {
            configuration,
            input throws(ConfigurationProblem) in
            guard case .boolean(let flag) = input else {
                throw ConfigurationProblem(message: "\(key) must be true or false")
            }
            set(&configuration, flag)
        }
    }

    static func string(
        _ key: String,
        _ summary: String,
        default value: String,
        kind: Kind = .string,
        validate: @escaping @Sendable (String) -> String? = { _ in nil },
        _ set: @escaping @Sendable (inout SwitchboardConfiguration, String) -> Void
    ) -> ConfigurationOption {
        ConfigurationOption(key: key, summary: summary, kind: kind, defaultText: TOMLQuoting.quote(value)) {
            configuration,
            input throws(ConfigurationProblem) in
            guard case .string(let text) = input else { throw ConfigurationProblem(message: "\(key) must be a string") }
            if let problem = validate(text) { throw ConfigurationProblem(message: "\(key): \(problem)") }
            set(&configuration, text)
        }
    }

    static func stringList(
        _ key: String,
        _ summary: String,
        default defaultValue: [String] = [],
        validate: @escaping @Sendable (String) -> String? = { _ in nil },
        _ set: @escaping @Sendable (inout SwitchboardConfiguration, [String]) -> Void
    ) -> ConfigurationOption {
        let defaultText = "[" + defaultValue.map { TOMLQuoting.quote($0) }.joined(separator: ", ") + "]"
        return ConfigurationOption(key: key, summary: summary, kind: .stringList, defaultText: defaultText) {
            configuration,
            input throws(ConfigurationProblem) in
            guard case .stringList(let list) = input else {
                throw ConfigurationProblem(message: "\(key) must be an array of strings")
            }
            for item in list {
                if let problem = validate(item) { throw ConfigurationProblem(message: "\(key): \(problem)") }
            }
            set(&configuration, list)
        }
    }
}

/// Writes TOML basic strings.
enum TOMLQuoting {
    static func quote(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
