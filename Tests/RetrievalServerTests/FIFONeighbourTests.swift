import Foundation
import SyncActivity
import Testing
import TestSupport

/// Issue "Hostile neighbours", item 4: a FIFO where a regular file belongs. Before, a FIFO at the
/// activity document's path held serve's blocking threads in `openat` for good (SIGTERM no longer
/// stopped it), and a FIFO at the snapshot path hung the writer and froze the reader while
/// `/healthz` said ok.
@Suite("hostile neighbours: FIFOs beside the snapshot", .serialized)
struct FIFONeighbourTests {
    static func makeFIFO(at path: String) throws {
        guard mkfifo(path, 0o644) == 0 else { throw RawConnection.Failure(call: "mkfifo", code: errno) }
    }

    static func health(_ port: Int) async throws -> [String: Any] {
        try await HTTP.request(.GET, "http://127.0.0.1:\(port)/healthz").json()
    }

    @Test func serveTheWriterAndTheCommandsRefuseAFIFOInsteadOfHanging() async throws {
        let directory = try TemporaryDirectory("fifo-neighbours")
        defer { directory.remove() }
        let path = directory.path("faqsync.snapshot")
        try LocalModelSnapshots.publish(to: path, generation: 1)
        let (process, port, _) = try ServeProcessTests.startServe(snapshot: path)
        defer { if process.isRunning { process.terminate(); process.waitUntilExit() } }

        // A FIFO at the activity document: the page and /v1/syncs answer (without the syncs), again and again.
        try Self.makeFIFO(at: SyncActivityFile(besideSnapshot: path).path)
        for _ in 0..<4 {
            let page = try await HTTP.request(.GET, "http://127.0.0.1:\(port)/")
            #expect(page.status == 200, "\(page.body.prefix(300))")
            let syncs = try await HTTP.request(.GET, "http://127.0.0.1:\(port)/v1/syncs")
            #expect(syncs.status != 200 || syncs.body.contains("FIFO"), "\(syncs.status) \(syncs.body.prefix(300))")
        }

        // A FIFO renamed over the snapshot: the reader keeps generation 1 and /healthz says it is behind.
        let fifo = directory.path(".incoming")
        try Self.makeFIFO(at: fifo)
        #expect(rename(fifo, path) == 0)
        var health: [String: Any] = [:]
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            health = try await Self.health(port)
            if health["status"] as? String == "stale" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(health["status"] as? String == "stale", "\(health)")
        #expect(health["generation"] as? Int == 1)
        #expect((health["reason"] as? String)?.contains("FIFO") == true, "\(health)")

        // The command line refuses it at once; the writer publishes over it; the reader follows.
        let show = try BoundedProcess.run(["snapshot", "show", "--snapshot", path])
        #expect(show.exitStatus == 1 && !show.killedAtDeadline, "\(show)")
        #expect(show.stderr.contains("FIFO"), "\(show.stderr)")
        try LocalModelSnapshots.publish(to: path, generation: 2)
        let caughtUp = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < caughtUp {
            health = try await Self.health(port)
            if health["generation"] as? Int == 2 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(health["generation"] as? Int == 2 && health["status"] as? String == "ok", "\(health)")

        // And SIGTERM still stops it.
        process.terminate()
        let stopped = ContinuousClock.now + .seconds(15)
        while process.isRunning, ContinuousClock.now < stopped { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!process.isRunning, "serve did not stop on SIGTERM")
    }

    /// The spreadsheet, the checks file and a secret's file named by a setting: each a FIFO.
    @Test func aFIFONamedByASettingIsRefusedWithWhatItIs() throws {
        let directory = try TemporaryDirectory("fifo-settings")
        defer { directory.remove() }
        for name in ["faq.xlsx", "faq.csv", "key"] { try Self.makeFIFO(at: directory.path(name)) }
        for faq in ["faq.xlsx", "faq.csv"] {
            let inspect = try BoundedProcess.run(["inspect", "--faq", directory.path(faq)])
            #expect(inspect.exitStatus != 0 && !inspect.killedAtDeadline, "\(inspect)")
            #expect(inspect.stderr.contains("FIFO"), "\(faq): \(inspect.stderr)")
        }
        let key = try BoundedProcess.run(["sync", "--faq", Fixtures.sampleFAQ.path, "--db", directory.path("x.db"), "--snapshot", directory.path("x.snapshot")],
                                         environment: ["EMBEDDING_PROVIDER": "openai", "EMBEDDING_MODEL": "bge-m3", "EMBEDDING_DIMENSIONS": "1024", "EMBEDDING_BASE_URL": "http://127.0.0.1:9/v1",
                                                       "EMBEDDING_API_KEY_FILE": directory.path("key")])
        #expect(key.exitStatus != 0 && !key.killedAtDeadline, "\(key)")
        #expect(key.stderr.contains("FIFO"), "\(key.stderr)")
    }

    /// SQLite opens the store's file itself, and on a FIFO it would wait in `read` for ever: the
    /// store's path is checked first, by every command that opens it, and nothing is created beside it.
    @Test func aFIFOAtTheStoresPathIsRefusedByEveryCommand() throws {
        let directory = try TemporaryDirectory("fifo-store")
        defer { directory.remove() }
        let store = directory.path("faq.db")
        try Self.makeFIFO(at: store)
        let files = ["--db", store, "--snapshot", directory.path("faq.snapshot")]
        for arguments in [["sync", "--faq", Fixtures.sampleFAQ.path] + files, ["status"] + files, ["versions", "list"] + files,
                          ["store", "backup", directory.path("backup.db")] + files] {
            let run = try BoundedProcess.run(arguments)
            #expect(run.exitStatus == 1 && !run.killedAtDeadline, "\(arguments): \(run)")
            #expect(run.stderr.contains("[open-failed]") && run.stderr.contains("is a FIFO"), "\(arguments): \(run.stderr)")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.url.path).sorted()
        #expect(left == ["faq.db"], "nothing beside the refused file: \(left)")
    }
}
