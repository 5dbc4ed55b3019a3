import Foundation
import Synchronization
import Testing
import TestSupport

/// Issue "Hostile neighbours", item 1: `cp other.snapshot SNAPSHOT_PATH` over the live snapshot
/// (what an operator restoring a backup types) killed serve with SIGBUS on the next search.
@Suite("hostile neighbours: a snapshot overwritten in place", .serialized)
struct TornSnapshotTests {
    /// Writes `source` over `target` in place as cp does (truncate, then write in chunks), slowly
    /// enough that searches run against the torn file.
    static func copyInPlace(from source: String, to target: String) throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
        let descriptor = open(target, O_WRONLY | O_TRUNC)
        guard descriptor >= 0 else { throw RawConnection.Failure(call: "open", code: errno) }
        defer { close(descriptor) }
        var offset = 0
        while offset < bytes.count {
            let chunk = min(4_096, bytes.count - offset)
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, chunk) }
            guard written > 0 else { throw RawConnection.Failure(call: "write", code: errno) }
            offset += written
            Thread.sleep(forTimeInterval: 0.002)
        }
    }

    @Test func serveSurvivesACopyOverTheLiveSnapshotAndNeverAnswersFromATornFile() async throws {
        let directory = try TemporaryDirectory("torn-snapshot")
        defer { directory.remove() }
        let path = directory.path("faqsync.snapshot"), backup = directory.path("backup.snapshot")
        try LocalModelSnapshots.publish(to: path, generation: 5, count: 3_000)
        try LocalModelSnapshots.publish(to: backup, generation: 2, count: 200)
        let (process, port, stderr) = try ServeProcessTests.startServe(snapshot: path)
        defer { if process.isRunning { process.terminate(); process.waitUntilExit() } }
        let url = "http://127.0.0.1:\(port)/v1/search"

        let progress = TornProgress()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask { [progress] in
                    while !progress.stop.load(ordering: .relaxed) {
                        guard let response = try? await HTTP.request(.POST, url, body: #"{"query":"Вопрос про вклад","k":5}"#) else {
                            progress.counts.withLock { $0.problems.append("no response: is serve still running?") }
                            try await Task.sleep(for: .milliseconds(20))
                            continue
                        }
                        switch response.status {
                        case 200:
                            let json = try response.json()
                            let answers = (json["results"] as? [[String: Any]] ?? []).compactMap { $0["answer"] as? String }
                            // Every answer from one file: all "generation 5", or all "generation 2" (the backup).
                            if Set(answers).count != 1 || !(answers.first == "generation 5" || answers.first == "generation 2") {
                                progress.counts.withLock { $0.problems.append("torn answer: \(answers)") }
                            }
                            progress.counts.withLock { $0.ok += 1 }
                        case 503: progress.counts.withLock { $0.unavailable += 1 }
                        default: progress.counts.withLock { $0.problems.append("HTTP \(response.status): \(response.body.prefix(200))") }
                        }
                    }
                }
            }
            // The clients are answered before the copy starts.
            #expect(try await progress.waitForAnswers(10), "no answers before the copy")
            try Self.copyInPlace(from: backup, to: path)
            // The reader settles on the copied file: valid, though its generation is older.
            let deadline = ContinuousClock.now + .seconds(15)
            var health: [String: Any] = [:]
            while ContinuousClock.now < deadline {
                health = (try? await HTTP.request(.GET, "http://127.0.0.1:\(port)/healthz").json()) ?? [:]
                if health["status"] as? String == "ok", health["generation"] as? Int == 2 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            // And answered from the settled file for a while before they stop.
            #expect(try await progress.waitForAnswers(progress.counts.withLock { $0.ok } + 10), "no answers after the copy")
            progress.stop.store(true, ordering: .relaxed)
            try await group.waitForAll()
            #expect(health["status"] as? String == "ok" && health["generation"] as? Int == 2, "\(health)")
        }
        let result = progress.counts.withLock { $0 }
        #expect(process.isRunning, "serve died: \(String(decoding: stderr.fileHandleForReading.availableData, as: UTF8.self).suffix(500))")
        #expect(result.problems.isEmpty, "\(result.problems.prefix(5))")
        #expect(result.ok > 0)
        print("cp over the live snapshot: \(result.ok) answers from whole files, \(result.unavailable) discarded with 503 while it was torn, serve alive")
    }

    /// The safe way: `faqsync snapshot install FILE` validates the file and publishes it as the next generation.
    @Test func snapshotInstallPutsABackupInPlaceAsTheNextGeneration() async throws {
        let directory = try TemporaryDirectory("snapshot-install")
        defer { directory.remove() }
        let path = directory.path("faqsync.snapshot"), backup = directory.path("backup.snapshot")
        try LocalModelSnapshots.publish(to: path, generation: 5, count: 50)
        try LocalModelSnapshots.publish(to: backup, generation: 2, count: 20)
        let install = try CLIProcess.run(["snapshot", "install", backup, "--snapshot", path, "--json"])
        #expect(install.status == 0, "\(install.stderr)")
        let json = try install.json()
        #expect(json["generation"] as? Int == 6 && json["source_generation"] as? Int == 2 && json["templates"] as? Int == 20, "\(json)")
        let show = try CLIProcess.run(["snapshot", "show", "--snapshot", path, "--json"])
        #expect((try show.json()["templates"] as? Int) == 20, "\(show.stdout)")
        // A damaged file is refused and the live snapshot is left alone.
        try Data("not a snapshot".utf8).write(to: URL(fileURLWithPath: backup))
        let refused = try CLIProcess.run(["snapshot", "install", backup, "--snapshot", path])
        #expect(refused.status != 0)
        #expect((try CLIProcess.run(["snapshot", "show", "--snapshot", path, "--json"]).json()["generation"] as? Int) == 6)
    }
}

final class TornProgress: Sendable {
    let stop = Atomic(false)
    let counts = Mutex((ok: 0, unavailable: 0, problems: [String]()))

    /// Waits (bounded) until the clients have had `count` whole answers.
    func waitForAnswers(_ count: Int) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            if counts.withLock({ $0.ok }) >= count { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}
