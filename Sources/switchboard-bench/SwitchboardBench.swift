import ArgumentParser

/// `switchboard-bench`: a load generator for pub/sub servers (Switchboard, nchan, ...).
@main
struct SwitchboardBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard-bench",
        abstract: "Open many subscribers, publish at fixed rates, report delivery rate, latency, loss and server cost.",
        subcommands: [
            RunCommand.self, WorkerCommand.self, STOMPCommand.self, BridgeCommand.self, EchoServerCommand.self,
        ],
        defaultSubcommand: RunCommand.self
    )
}
