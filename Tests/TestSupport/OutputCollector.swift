import Foundation
import Synchronization

/// Collects a child process's output as it arrives, so a test can wait for a line.
package final class OutputCollector: Sendable {
    private let text = Mutex("")

    package init(_ pipe: Pipe) {
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil; return }
            self?.text.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
    }

    package var all: String { text.withLock { $0 } }
    package var lines: [String] { all.split(separator: "\n").map(String.init) }

    /// The first complete line after the first `skip` lines that satisfies `predicate`, waiting up to `timeout`.
    package func waitForLine(after skip: Int = 0, timeout: Duration = .seconds(30), where predicate: (String) -> Bool) async throws -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let complete = all.hasSuffix("\n") ? lines : Array(lines.dropLast())
            if let line = complete.dropFirst(skip).first(where: predicate) { return line }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }
}
