import Foundation
import Settings
import Logging
import WatchDaemon

/// The process entry point: logging set up once, then the command line.
package enum FAQSyncMain {
    /// Runs the command line, then exits. Called from a synchronous main: the work runs in a
    /// detached task at default priority that nothing awaits, so the main thread's
    /// user-interactive priority is never inherited or escalated into it. On Linux libdispatch
    /// renices threads of higher classes to nice -2 and -4, which a service without
    /// CAP_SYS_NICE may not do, and says so in the journal on every start.
    package static func runAndExit() -> Never {
        Task.detached(priority: .medium) {
            await run()
            exit(0)
        }
        dispatchMain()
    }

    package static func run() async {
        // Long-running subcommands log their events by default; one-shot commands only problems.
        let longRunning = CommandLine.arguments.dropFirst().first.map { ["serve", "watch"].contains($0) } ?? false
        let level = FAQSyncConfiguration.logLevel(environment: ProcessInfo.processInfo.environment, longRunning: longRunning)
        let format = DaemonLogHandler.format(environment: ProcessInfo.processInfo.environment)
        LoggingSystem.bootstrap { label in
            if format == .text, !longRunning {
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            return DaemonLogHandler(label: label, level: level, format: format)
        }
        if let hint = LegacyFlags.hint(for: Array(CommandLine.arguments.dropFirst())) {
            Terminal.writeError(hint + "\n")
            exit(64)  // EX_USAGE, as ArgumentParser exits on an unknown option
        }
        await FAQSyncCommand.main()
    }
}
