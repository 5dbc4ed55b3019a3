import Foundation
import Logging
import WatchDaemon

/// The process entry point: logging set up once, then the command line.
public enum FAQSyncMain {
    public static func run() async {
        // Long-running subcommands log their events by default; one-shot commands only problems.
        let longRunning = CommandLine.arguments.dropFirst().first.map { ["serve", "watch"].contains($0) } ?? false
        let level = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) }
            ?? (longRunning ? .info : .warning)
        let format = DaemonLogHandler.format(environment: ProcessInfo.processInfo.environment)
        LoggingSystem.bootstrap { label in
            if format == .text, !longRunning {
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            return DaemonLogHandler(label: label, level: level, format: format)
        }
        await FAQSyncCommand.main()
    }
}
