import Foundation
import GRDB
import Reconciliation
import SnapshotReader
import SpreadsheetReading
import Synchronization
import TestSupport

/// A datagram socket bound in a temporary directory, passed to the daemon as NOTIFY_SOCKET, that
/// records every notification with the time it arrived.
final class NotifySocket: Sendable {
    let path: String
    private let descriptor: Int32
    private let received = Mutex<[(at: ContinuousClock.Instant, message: String)]>([])

    init(path: String) throws {
        self.path = path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw CocoaError(.fileWriteUnknown) }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let fd = descriptor
        Thread { [weak self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard let self else { return }
                if count > 0 {
                    self.received.withLock { $0.append((.now, String(decoding: buffer[0..<count], as: UTF8.self))) }
                } else if count < 0, errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR {
                    return
                }
            }
        }.start()
    }

    var messages: [(at: ContinuousClock.Instant, message: String)] { received.withLock { $0 } }
    func count(_ prefix: String) -> Int { messages.filter { $0.message.hasPrefix(prefix) }.count }
    func lines(containing text: String) -> [String] { messages.map(\.message).filter { $0.contains(text) } }

    func waitFor(_ predicate: @Sendable ([String]) -> Bool, timeout: Duration = .seconds(60)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if predicate(messages.map(\.message)) { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    deinit {
        shutdown(descriptor, Int32(SHUT_RDWR))
        close(descriptor)
        unlink(path)
    }
}

/// `faqsync watch` as a child process on a real directory, with the notify socket.
final class DaemonHarness: Sendable {
    let directory: TemporaryDirectory
    let faqDirectory: URL
    let faq: URL
    let db: String
    let snapshot: String
    let notify: NotifySocket
    let process: Process
    let stderr: OutputCollector

    init(_ label: String, initial: URL = Fixtures.sampleFAQ, environment: [String: String] = [:], debounceMs: Int = 200,
         openFileLimit: Int? = nil) async throws {
        directory = try TemporaryDirectory(label)
        faqDirectory = directory.file("faq")
        try FileManager.default.createDirectory(at: faqDirectory, withIntermediateDirectories: true)
        faq = faqDirectory.appendingPathComponent("faq.xlsx")
        try FileManager.default.copyItem(at: initial, to: faq)
        db = directory.path("store.db")
        snapshot = directory.path("faqsync.snapshot")
        notify = try NotifySocket(path: directory.path("notify.sock"))
        // Debug: the policy's "nothing to do" lines are what `settled()` waits for.
        var extra = ["NOTIFY_SOCKET": notify.path, "WATCH_DEBOUNCE_MS": "\(debounceMs)", "LOG_LEVEL": "debug"]
        extra.merge(environment) { _, new in new }
        let (process, _, stderr) = try CLIProcess.start(["watch", "--faq", faq.path, "--db", db, "--snapshot", snapshot], environment: extra,
                                                        openFileLimit: openFileLimit)
        self.process = process
        self.stderr = OutputCollector(stderr)
        guard try await notify.waitFor({ $0.contains { $0.hasPrefix("READY=1") } }) else {
            process.terminate()
            throw DaemonFailure(message: "no READY=1: \(self.stderr.all)")
        }
    }

    struct DaemonFailure: Error { let message: String }

    var syncsStarted: Int { notify.count("RELOADING=1") }

    /// Waits until the daemon has started `count` syncs and gone back to READY=1 after the last.
    func waitForSyncs(_ count: Int, timeout: Duration = .seconds(60)) async throws -> Bool {
        try await notify.waitFor({ messages in
            let reloads = messages.filter { $0.hasPrefix("RELOADING=1") }.count
            guard reloads >= count, let last = messages.lastIndex(where: { $0.hasPrefix("RELOADING=1") }) else { return false }
            return messages[(last + 1)...].contains { $0.hasPrefix("READY=1") }
        }, timeout: timeout)
    }

    /// Templates stored in the current version, as (identity, input hash, content hash).
    func storedState() throws -> Set<String> {
        let queue = try DatabaseQueue(path: db)
        defer { try? queue.close() }
        return try queue.read { db in
            Set(try String.fetchAll(db, sql: """
                SELECT template_id || '|' || input_hash || '|' || content_hash FROM templates
                WHERE version_id = (SELECT id FROM embedding_versions WHERE is_current = 1)
                """))
        }
    }

    static func expectedState(_ url: URL) throws -> Set<String> {
        Set(try Template.templates(from: SpreadsheetReader().read(url), modelInput: .questionAndAnswer)
            .map { "\($0.id)|\($0.inputHash)|\($0.contentHash)" })
    }

    func failedRuns() throws -> Int {
        let queue = try DatabaseQueue(path: db)
        defer { try? queue.close() }
        return try queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM sync_runs WHERE outcome = 'failed'") ?? 0 }
    }

    var snapshotGeneration: UInt64? { (try? MappedSnapshot(path: snapshot))?.generation }
    var log: String { stderr.all }

    /// Waits until the daemon has handled every file event that came before this call, so a test
    /// can count syncs without sleeping: it saves the content the file already has and waits for
    /// the daemon to find nothing to do. Events queue in order, so any sync an earlier event
    /// caused has started (and shows in `syncsStarted`) by then.
    func settled(timeout: Duration = .seconds(30)) async throws -> Bool {
        let marker = "nothing to do"
        let before = stderr.lines.filter { $0.contains(marker) }.count
        try await writeInPlace(try Data(contentsOf: faq), to: faq)
        guard try await stderr.waitForLine(after: 0, timeout: timeout, where: { _ in
            stderr.lines.filter { $0.contains(marker) }.count > before
        }) != nil else { return false }
        // The "nothing to do" comes after any sync the earlier events started; wait for it to end.
        return try await waitForSyncs(syncsStarted, timeout: timeout)
    }

    func stop() -> Int32 {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
        directory.remove()
    }
}

/// Writes a file's bytes into an existing path in place (truncate, then write), like cp or openpyxl.
func writeInPlace(_ data: Data, to url: URL, chunks: Int = 1, pause: Duration = .zero) async throws {
    let handle = try FileHandle(forWritingTo: url)
    try handle.truncate(atOffset: 0)
    let size = (data.count + chunks - 1) / chunks
    for start in stride(from: 0, to: data.count, by: size) {
        try handle.write(contentsOf: data[start..<min(data.count, start + size)])
        if pause > .zero { try await Task.sleep(for: pause) }
    }
    try handle.close()
}
