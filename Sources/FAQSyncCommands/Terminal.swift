import Foundation
import SyncActivity
import Settings
import SyncEngine

/// What the process is attached to, and the few things faqsync draws on a terminal.
enum Terminal {
    static var stdinIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    /// A line on stdout, written at once (print buffers when stdout is a pipe).
    static func writeLine(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func writeError(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// Asks a yes/no question on stderr and reads the answer from stdin; default no.
    static func confirm(_ question: String) -> Bool {
        writeError("\(question) [y/N] ")
        guard let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() else { return false }
        return answer == "y" || answer == "yes"
    }
}

/// A one-line progress bar over embedding batches with an ETA, redrawn in place on stderr.
final class ProgressBar: Sendable {
    private let width = 30

    func update(_ progress: EmbeddingProgress) {
        let fraction = progress.totalBatches == 0 ? 1 : Double(progress.completedBatches) / Double(progress.totalBatches)
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let elapsed = Double(progress.elapsed.components.seconds) + Double(progress.elapsed.components.attoseconds) / 1e18
        let remaining = fraction > 0 ? elapsed / fraction - elapsed : 0
        let line = String(format: "\rEmbedding %@ %d/%d batches  %d/%d texts  %3.0f%%  ETA %@ ",
                          bar, progress.completedBatches, progress.totalBatches, progress.completedTexts,
                          progress.totalTexts, fraction * 100, Self.duration(remaining))
        Terminal.writeError(line)
        if progress.completedBatches == progress.totalBatches { Terminal.writeError("\n") }
    }

    static func duration(_ seconds: Double) -> String {
        if seconds < 60 { return String(format: "%.0fs", seconds.rounded(.up)) }
        return String(format: "%dm%02ds", Int(seconds) / 60, Int(seconds) % 60)
    }
}

/// Aligned two-column text for summaries.
struct KeyValueTable {
    private var rows: [(String, String)] = []

    mutating func add(_ key: String, _ value: String) { rows.append((key, value)) }

    func render() -> String {
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { key, value in
            "  " + key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value
        }.joined(separator: "\n")
    }
}

enum JSONOutput {
    static func print<T: Encodable>(_ value: T) throws {
        // The activity document's encoding (timestamps with milliseconds): `status --json` and
        // `GET /v1/syncs` show a sync alike.
        let encoder = SyncActivity.encoder(pretty: true)
        Swift.print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}
