import ArgumentParser
import SwitchboardServer

/// `switchboard check-config FILE`: validates a configuration file, reporting every error with its line.
struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check a configuration file; print each error as FILE:LINE: error: MESSAGE and exit 1 if any."
    )

    @Argument(help: "The TOML file to check.")
    var file: String

    func run() throws {
        let errors = ConfigurationLoader().check(file: file)
        guard errors.isEmpty else {
            for error in errors { printError(error.description) }
            throw ExitCode(1)
        }
        print("\(file): OK")
    }
}
