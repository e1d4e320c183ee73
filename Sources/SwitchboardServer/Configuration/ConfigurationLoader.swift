public import Foundation

/// One problem found while loading the configuration, with where it was found.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// The file path, `environment`, or `command line`.
    public var source: String
    /// The line in the file, when the problem is in a file.
    public var line: Int?
    /// What is wrong.
    public var message: String

    /// `FILE:LINE: error: MESSAGE`, the format compilers use, so editors can jump to it.
    public var description: String {
        if let line { return "\(source):\(line): error: \(message)" }
        return "\(source): error: \(message)"
    }
}

/// Every problem found while loading the configuration.
public struct ConfigurationErrors: Error, Sendable, CustomStringConvertible {
    /// The problems, in the order found.
    public var errors: [ConfigurationError]

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// Builds a ``SwitchboardConfiguration`` from, in increasing precedence: the defaults, a TOML file,
/// environment variables (`SWITCHBOARD_...`) and command-line flags. Reports every error, not just the first.
public struct ConfigurationLoader: Sendable {
    /// Creates a loader.
    public init() {}

    /// Loads and validates. On failure, returns every error found.
    public func load(
        file: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        flags: [(key: String, value: String)] = []
    ) -> Result<SwitchboardConfiguration, ConfigurationErrors> {
        var configuration = SwitchboardConfiguration()
        var errors: [ConfigurationError] = []
        if let file {
            errors += applyFile(file, to: &configuration)
        }
        for option in ConfigurationOption.all {
            guard let text = environment[option.environmentVariable] else { continue }
            if let error = apply(
                text: text,
                to: option,
                &configuration,
                source: "environment \(option.environmentVariable)"
            ) {
                errors.append(error)
            }
        }
        for (key, text) in flags {
            guard let option = ConfigurationOption.named(key) else {
                errors.append(ConfigurationError(source: "command line", message: "unknown option \(key)"))
                continue
            }
            if let error = apply(text: text, to: option, &configuration, source: "command line") {
                errors.append(error)
            }
        }
        if errors.isEmpty {
            errors += configuration.problems.map { ConfigurationError(source: file ?? "configuration", message: $0) }
        }
        return errors.isEmpty ? .success(configuration) : .failure(ConfigurationErrors(errors: errors))
    }

    /// Validates a file on its own (for `switchboard check-config`).
    public func check(file: String) -> [ConfigurationError] {
        var configuration = SwitchboardConfiguration()
        let errors = applyFile(file, to: &configuration)
        // What is wrong across options too (tls.cert without tls.key, engine.type = "redis" with no Redis),
        // as `serve` would refuse it.
        guard errors.isEmpty else { return errors }
        return configuration.problems.map { ConfigurationError(source: file, message: $0) }
    }

    private func applyFile(_ path: String, to configuration: inout SwitchboardConfiguration) -> [ConfigurationError] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            return [ConfigurationError(source: path, message: "cannot read the file: \(error.localizedDescription)")]
        }
        let document: TOMLDocument
        do {
            document = try TOMLDocument(parsing: text)
        } catch {
            return [ConfigurationError(source: path, line: error.line, message: error.message)]
        }
        var errors: [ConfigurationError] = []
        let sections = Set(ConfigurationOption.all.map { String($0.key.split(separator: ".")[0]) })
        let tableArrays = [BridgeRoutes.tables.path, STOMPUsers.tables.path]
        for header in document.tableHeaders
        where !sections.contains(header.path.joined(separator: ".")) && !tableArrays.contains(header.path) {
            errors.append(
                ConfigurationError(
                    source: path,
                    line: header.line,
                    message: "unknown section [\(header.path.joined(separator: "."))]"
                )
            )
        }
        errors += BridgeRoutes.apply(document, source: path, to: &configuration)
        errors += STOMPUsers.apply(document, source: path, to: &configuration)
        for entry in document.entries where !tableArrays.contains(where: { entry.keyPath.starts(with: $0) }) {
            let key = entry.keyPath.joined(separator: ".")
            guard let option = ConfigurationOption.named(key) else {
                // An unknown key inside an unknown section was already reported with the section.
                if entry.keyPath.count > 1, !sections.contains(entry.keyPath[0]) { continue }
                errors.append(
                    ConfigurationError(
                        source: path,
                        line: entry.line,
                        message: "unknown option \(key)\(Self.suggestion(for: key))"
                    )
                )
                continue
            }
            do throws(ConfigurationProblem) {
                try option.apply(try Self.value(entry.value, for: option), to: &configuration)
            } catch {
                errors.append(ConfigurationError(source: path, line: entry.line, message: error.message))
            }
        }
        return errors.sorted { ($0.line ?? 0) < ($1.line ?? 0) }
    }

    private func apply(
        text: String,
        to option: ConfigurationOption,
        _ configuration: inout SwitchboardConfiguration,
        source: String
    ) -> ConfigurationError? {
        do throws(ConfigurationProblem) {
            try option.apply(try Self.value(parsing: text, for: option), to: &configuration)
            return nil
        } catch {
            return ConfigurationError(source: source, message: error.message)
        }
    }

    /// Converts a TOML value to the option's kind.
    static func value(
        _ value: TOMLValue,
        for option: ConfigurationOption
    ) throws(ConfigurationProblem) -> ConfigurationOption.Value {
        switch (option.kind, value) {
        case (.string, .string(let text)), (.address, .string(let text)): return .string(text)
        case (.integer, .integer(let number)): return .integer(Int(number))
        case (.number, .integer(let number)): return .number(Double(number))
        case (.number, .float(let number)): return .number(number)
        case (.boolean, .boolean(let flag)): return .boolean(flag)
        case (.stringList, .array(let items)):
            var strings: [String] = []
            for item in items {
                guard case .string(let text) = item else {
                    throw ConfigurationProblem(
                        message: "\(option.key) must be an array of strings, found \(item.typeName)"
                    )
                }
                strings.append(text)
            }
            return .stringList(strings)
        default:
            throw ConfigurationProblem(
                message: "\(option.key) must be \(Self.describe(option.kind)), found \(value.typeName)"
            )
        }
    }

    /// Parses an environment variable or flag according to the option's kind.
    static func value(
        parsing text: String,
        for option: ConfigurationOption
    ) throws(ConfigurationProblem) -> ConfigurationOption.Value {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        switch option.kind {
        case .string, .address:
            return .string(text)
        case .integer:
            guard let number = Int(trimmed) else {
                throw ConfigurationProblem(message: "\(option.key) must be an integer, not \"\(text)\"")
            }
            return .integer(number)
        case .number:
            guard let number = Double(trimmed) else {
                throw ConfigurationProblem(message: "\(option.key) must be a number, not \"\(text)\"")
            }
            return .number(number)
        case .boolean:
            switch trimmed.lowercased() {
            case "true", "1", "yes", "on": return .boolean(true)
            case "false", "0", "no", "off": return .boolean(false)
            default: throw ConfigurationProblem(message: "\(option.key) must be true or false, not \"\(text)\"")
            }
        case .stringList:
            return .stringList(
                trimmed.isEmpty ? [] : trimmed.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            )
        }
    }

    private static func describe(_ kind: ConfigurationOption.Kind) -> String {
        switch kind {
        case .string: return "a string"
        case .address: return "a \"HOST:PORT\" string"
        case .integer: return "an integer"
        case .number: return "a number"
        case .boolean: return "true or false"
        case .stringList: return "an array of strings"
        }
    }

    private static func suggestion(for key: String) -> String {
        // The same name in another section, or a key of the same section that shares a long prefix.
        let name = key.split(separator: ".").last.map(String.init) ?? key
        let section = key.split(separator: ".").first.map(String.init) ?? ""
        let match =
            ConfigurationOption.all.first { $0.key.hasSuffix("." + name) }
            ?? ConfigurationOption.all.first { option in
                option.key.hasPrefix(section + ".") && option.key.commonPrefix(with: key).count >= section.count + 5
            }
        return match.map { " (did you mean \($0.key)?)" } ?? ""
    }
}
