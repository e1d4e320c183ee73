/// Reads an array of tables in the configuration file (`[[bridge.route]]`, `[[stomp.user]]`): each
/// table with its line, unknown keys and mistyped values reported as errors on that line.
struct TableArray {
    /// One table of the array, with typed reads that report a wrong type as a problem.
    struct Entry {
        let table: [String: TOMLValue]
        /// Reports a problem on the table's line.
        let problem: (String) -> Void

        /// The string at `key`, if it is one (a wrong type is reported).
        func string(_ key: String) -> String? {
            guard let value = table[key] else { return nil }
            guard case .string(let text) = value else {
                problem("\(key) must be a string")
                return nil
            }
            return text
        }

        /// The boolean at `key`, if it is one (a wrong type is reported).
        func bool(_ key: String) -> Bool? {
            guard let value = table[key] else { return nil }
            guard case .boolean(let flag) = value else {
                problem("\(key) must be true or false")
                return nil
            }
            return flag
        }

        /// The array of strings at `key`, if it is one (a wrong type is reported).
        func strings(_ key: String) -> [String]? {
            guard let value = table[key] else { return nil }
            if case .array(let items) = value,
                case let strings = items.compactMap({ item -> String? in
                    if case .string(let text) = item { return text }
                    return nil
                }), strings.count == items.count
            {
                return strings
            }
            problem("\(key) must be an array of strings")
            return nil
        }
    }

    /// The array's path, e.g. `["stomp", "user"]`.
    let path: [String]
    /// The keys a table may have.
    let keys: [String]
    /// What one table is, for the message when an element is not a table.
    let what: String

    /// Calls `body` with each table of the array in `document`; returns the problems found.
    func forEach(in document: TOMLDocument, source: String, _ body: (Entry) -> Void) -> [ConfigurationError] {
        let name = path.joined(separator: ".")
        guard let value = document.value(at: path) else { return [] }
        guard case .array(let items) = value else {
            return [
                ConfigurationError(
                    source: source,
                    line: document.line(of: path),
                    message: "\(name) must be an array of tables ([[\(name)]])"
                )
            ]
        }
        var errors: [ConfigurationError] = []
        for (index, item) in items.enumerated() {
            let line = document.line(of: path + [String(index)])
            let problem = { (message: String) in
                errors.append(ConfigurationError(source: source, line: line, message: "\(name): " + message))
            }
            guard case .table(let table) = item else {
                problem("each element is a table with \(what)")
                continue
            }
            for key in table.keys.sorted() where !keys.contains(key) {
                problem("unknown key \(key) (a table has \(keys.joined(separator: ", ")))")
            }
            body(Entry(table: table, problem: problem))
        }
        return errors
    }
}
