import ArgumentParser
import SwitchboardServer

/// `switchboard sample-config`: prints a commented configuration file with every option and its default.
struct SampleConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample-config",
        abstract: "Print a configuration file listing every option with its default."
    )

    func run() throws {
        print(SampleConfiguration.render(), terminator: "")
    }
}
