import Foundation
import PostgresClient
import SQLiteStore
import TemplateStore
import Testing
import TestSupport

/// Stops and starts the test server with the project's own script (pg_ctl underneath).
enum TestServer {
    /// posix_spawn and waitpid rather than Foundation's Process: pg_ctl leaves a daemon behind,
    /// and Process's exit monitoring has been seen to miss the script's exit then.
    static func control(_ action: String) throws {
        let script = Fixtures.projectRoot.appendingPathComponent("scripts/postgres.sh").path
        var environment = ProcessInfo.processInfo.environment
        if let data = environment["FAQSYNC_TEST_PGDATA"] { environment["PGDATA"] = data }
        environment["PGPORT"] = String(TestDatabase.server.port)
        let arguments = ["/bin/bash", script, action]
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        guard posix_spawn(&pid, "/bin/bash", &actions, nil, argv, envp) == 0 else {
            throw TestDatabaseError(message: "could not run scripts/postgres.sh \(action)")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        guard status == 0 else {
            throw TestDatabaseError(message: "scripts/postgres.sh \(action) failed with wait status \(status)")
        }
    }

    /// Runs `body` with the server stopped for `downtime`, always starting it again.
    static func restart(after delay: Duration, downtime: Duration) async throws {
        try await Task.sleep(for: delay)
        try control("stop")
        do { try await Task.sleep(for: downtime) } catch {}
        try control("start")
    }
}

/// These stop the shared test server, so they run only under `scripts/test.sh`, which runs the
/// suite serially and says where the server's data lives (FAQSYNC_TEST_PGDATA); in a parallel
/// `swift test` they would pull the server from under every other PostgreSQL test.
@Suite("PostgreSQL: the server goes away", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["FAQSYNC_TEST_PGDATA"] != nil, "run by scripts/test.sh (serial, FAQSYNC_TEST_PGDATA set)"))
struct ServerRestartTests {
    @Test func aRestartDuringALargeSyncRollsBackCleanlyAndTheNextSyncConverges() async throws {
        let harness = try PostgresProcessHarness("restart")
        defer { harness.directory.remove() }
        let templates = 6000
        try GeneratedFAQ(count: templates).writeXLSX(to: harness.faqURL)

        let (process, out, err) = try CLIProcess.start(["sync", "--json"], environment: harness.environment,
                                                       directory: harness.directory.url)
        let errors = OutputCollector(err)
        _ = OutputCollector(out)
        do {
            try await TestServer.restart(after: .milliseconds(700), downtime: .milliseconds(300))
        } catch {
            try? TestServer.control("start")
            throw error
        }
        while process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        if process.terminationStatus != 0 {
            // Failed cleanly: it says which server and that nothing was applied.
            #expect(errors.all.contains("127.0.0.1:\(TestDatabase.server.port)"), "\(errors.all)")
        }

        // No partial version is ever current: either none, or all 6000 templates.
        let store = harness.store
        if let current = try await store.currentVersion() {
            #expect(current.templateCount == templates)
        }
        let next = try harness.sync()
        #expect(next.status == 0, "\(next.stderr)")
        let current = try #require(try await store.currentVersion())
        #expect(current.templateCount == templates)
        #expect(try await store.checkIntegrity().passed)
        let counts = try harness.database.connect().execute("SELECT count(*), count(DISTINCT template_id) FROM templates")
        #expect(counts.int(0, 0) == templates)
        #expect(counts.int(0, 1) == templates)
    }

    @Test func theDaemonRetriesWithBackoffWhileTheServerIsDownAndThenSyncs() async throws {
        let harness = try PostgresProcessHarness("watch-restart")
        defer { harness.directory.remove() }
        var faq = GeneratedFAQ(count: 300)
        try faq.writeXLSX(to: harness.faqURL)
        var environment = harness.environment
        environment["LOG_LEVEL"] = "info"
        environment["WATCH_DEBOUNCE_MS"] = "100"
        let (process, out, err) = try CLIProcess.start(["watch"], environment: environment, directory: harness.directory.url)
        _ = OutputCollector(out)
        let log = OutputCollector(err)
        defer { if process.isRunning { process.terminate(); process.waitUntilExit() } }
        #expect(try await log.waitForLine { $0.contains("sync done") } != nil, "\(log.all)")
        let before = log.lines.count

        try TestServer.control("stop")
        do {
            faq.entries[5].answer += " Изменено, пока сервер лежал."
            try faq.writeXLSX(to: harness.faqURL)
            let retrying = try await log.waitForLine(after: before) { $0.contains("sync failed (attempt 1); retrying") }
            #expect(retrying?.contains("127.0.0.1:\(TestDatabase.server.port)") == true, "\(log.all)")
            let firstFailure = ContinuousClock.now
            // With backoff (1 s, then 2 s) the third attempt comes 3 s after the first, not at once.
            let third = try await log.waitForLine(after: before, timeout: .seconds(30)) { $0.contains("sync failed (attempt 3)") }
            let elapsed = ContinuousClock.now - firstFailure
            #expect(third != nil, "\(log.all)")
            #expect(elapsed >= .milliseconds(2_800), "the third attempt came \(elapsed) after the first: \(log.all)")
        } catch {
            try? TestServer.control("start")
            throw error
        }
        try TestServer.control("start")
        let done = try await log.waitForLine(after: before, timeout: .seconds(40)) { $0.contains("sync done") }
        #expect(done != nil, "the daemon synced once the server was back: \(log.all)")
        let runs = try await harness.store.recentRuns(limit: 10)
        #expect(runs.first?.outcome == .succeeded)
        #expect(runs.first?.modified == 1)
        #expect(process.isRunning)
    }
}
