import Foundation
import PostgresClient
import SnapshotFormat
import SnapshotReader
import PostgresStore
import SQLiteStore
import TemplateStore
import Testing
import TestSupport

/// A scratch directory, a database of its own and the environment `faqsync` processes get.
struct PostgresProcessHarness {
    let directory: TemporaryDirectory
    let database: TestDatabase
    let faqURL: URL
    let snapshotPath: String

    init(_ label: String) throws {
        directory = try TemporaryDirectory(label)
        database = try TestDatabase(label)
        faqURL = directory.file("faq.xlsx")
        snapshotPath = directory.path("writer.snapshot")
    }

    var environment: [String: String] {
        ["STORAGE_BACKEND": "postgres", "DATABASE_URL": database.url, "FAQ_PATH": faqURL.path, "SNAPSHOT_PATH": snapshotPath,
         "EMBEDDING_DIMENSIONS": "256"]
    }

    var store: PostgresTemplateStore { PostgresTemplateStore(settings: database.settings) }

    func sync(_ extra: [String] = []) throws -> CLIProcess.Result {
        try CLIProcess.run(["sync", "--json"] + extra, environment: environment, directory: directory.url)
    }
}

func jsonObject(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

@Suite("PostgreSQL: several writers and followers", .serialized,
       .enabled(if: TestDatabase.isConfigured, Comment(rawValue: TestDatabase.notConfiguredReason)))
struct MultiHostTests {
    @Test func twoSyncsStartedAtOnceRunOneAfterTheOther() async throws {
        let harness = try PostgresProcessHarness("concurrent")
        defer { harness.directory.remove() }
        try GeneratedFAQ(count: 2000).writeXLSX(to: harness.faqURL)

        let first = try CLIProcess.start(["sync", "--json"], environment: harness.environment, directory: harness.directory.url)
        let second = try CLIProcess.start(["sync", "--json"], environment: harness.environment, directory: harness.directory.url)
        var reports: [[String: Any]] = []
        for (process, out, err) in [first, second] {
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(stderr)")
            reports.append(try jsonObject(String(decoding: stdout, as: UTF8.self)))
        }
        // Without the lock both would plan 2000 inserts and one would fail on the primary key.
        let news = reports.compactMap { $0["new"] as? Int }.sorted()
        #expect(news == [0, 2000], "one sync inserted everything, the other found it all unchanged")
        #expect(reports.compactMap { $0["unchanged"] as? Int }.sorted() == [0, 2000])

        let connection = try harness.database.connect()
        let counts = try connection.execute("SELECT count(*), count(DISTINCT template_id) FROM templates")
        #expect(counts.int(0, 0) == 2000)
        #expect(counts.int(0, 1) == 2000)
        #expect(try connection.execute("SELECT count(*) FROM embedding_versions").int(0, 0) == 1)
        // The second found the bytes and settings the first had just synced: nothing happened, so
        // nothing is recorded.
        #expect(try connection.execute("SELECT count(*) FROM sync_runs WHERE outcome = 'succeeded'").int(0, 0) == 1)
    }

    @Test func aWaitingWriterTakesOverWhenTheLockHolderDies() async throws {
        let harness = try PostgresProcessHarness("takeover")
        defer { harness.directory.remove() }
        try GeneratedFAQ(count: 600).writeXLSX(to: harness.faqURL)
        let connection = try harness.database.connect()
        func advisoryLocksHeld() throws -> Int {
            try connection.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())").int(0, 0)
        }
        // The holder's embedding requests hang until it is killed, so it surely holds the lock
        // while the waiter asks for it (a fast holder could finish first and the test prove nothing).
        var stalled = FakeEmbeddingServer.Behaviour()
        stalled.latency = .seconds(15)
        let provider = try await FakeEmbeddingServer(dimension: 64, behaviour: stalled)
        var environment = harness.environment
        environment.merge(["EMBEDDING_PROVIDER": "openai", "EMBEDDING_MODEL": "fake-embed", "EMBEDDING_DIMENSIONS": "64",
                           "EMBEDDING_BASE_URL": provider.openAIBaseURL]) { _, new in new }

        let (holder, _, _) = try CLIProcess.start(["sync"], environment: environment, directory: harness.directory.url)
        let deadline = ContinuousClock.now + .seconds(20)
        while try advisoryLocksHeld() == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(try advisoryLocksHeld() == 1, "the first sync holds the lock")

        environment["LOG_LEVEL"] = "notice"
        let (waiter, out, err) = try CLIProcess.start(["sync", "--json"], environment: environment, directory: harness.directory.url)
        let waiterLog = OutputCollector(err)
        let waiterOutput = OutputCollector(out)
        #expect(try await waiterLog.waitForLine { $0.contains("another faqsync holds the sync lock") } != nil, "\(waiterLog.all)")
        #expect(holder.isRunning, "the holder was still syncing when the waiter asked")
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        provider.setBehaviour(FakeEmbeddingServer.Behaviour())

        while waiter.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        #expect(waiter.terminationStatus == 0, "\(waiterLog.all)")
        let report = try jsonObject(waiterOutput.all)
        #expect(report["new"] as? Int == 600, "the killed sync committed nothing; the waiter did it all")
        #expect(try connection.execute("SELECT count(*) FROM templates").int(0, 0) == 600)
        await provider.stop()
    }

    @Test func aFollowerRebuildsOnlyTheChangedRowsAndPublishesTheNewGeneration() async throws {
        let harness = try PostgresProcessHarness("follower")
        defer { harness.directory.remove() }
        var faq = GeneratedFAQ(count: 500)
        try faq.writeXLSX(to: harness.faqURL)
        let initial = try harness.sync()
        #expect(initial.status == 0, "\(initial.stderr)")

        let followerPath = harness.directory.path("follower.snapshot")
        let (process, out, err) = try CLIProcess.start(["snapshot", "follow", "--json", "--snapshot", followerPath],
                                                       environment: harness.environment, directory: harness.directory.url)
        let output = OutputCollector(out)
        let errors = OutputCollector(err)
        defer { if process.isRunning { process.terminate() } }
        let loadLine = try #require(try await output.waitForLine { $0.contains("storeGeneration") }, "no first load: \(errors.all)")
        let load = try jsonObject(loadLine)
        #expect(load["complete"] as? Bool == true)
        #expect(load["templates"] as? Int == 500)

        // Two answers edited, one template deleted, one added.
        faq.entries[10].answer += " Обновлено."
        faq.entries[20].answer += " Уточнено."
        let removed = faq.entries.remove(at: 30)
        var added = faq.entries[40]
        added.question = "Новый вопрос о доставке карты?"
        faq.entries.append(added)
        try faq.writeXLSX(to: harness.faqURL)
        let delta = try harness.sync()
        #expect(delta.status == 0, "\(delta.stderr)")

        let updateLine = try #require(try await output.waitForLine(after: 1) { $0.contains("storeGeneration") },
                                      "no rebuild after the sync: \(errors.all)")
        let update = try jsonObject(updateLine)
        #expect(update["complete"] as? Bool == false, "an incremental rebuild, not a reload")
        #expect(update["changedRows"] as? Int == 3, "2 edited + 1 added rows fetched, not 500")
        #expect(update["deletedRows"] as? Int == 1)
        #expect(update["templates"] as? Int == 500)
        #expect(load["tokenisedTemplates"] as? Int == 500, "the first load tokenises every template")
        #expect(update["tokenisedTemplates"] as? Int == 3, "then only the 2 edited and 1 added, not 500")

        // The follower's file is the new generation and holds what the writer's holds.
        let followed = try MappedSnapshot(path: followerPath)
        #expect(followed.generation == UInt64(try #require(update["snapshotGeneration"] as? Int)))
        let written = try MappedSnapshot(path: harness.snapshotPath)
        #expect(followed.contents.count == written.contents.count)
        func column(_ snapshot: MappedSnapshot, _ field: SnapshotLayout.Field) -> [String] {
            (0..<snapshot.contents.count).map { snapshot.contents.string($0, field) }
        }
        for field in SnapshotLayout.Field.allCases {
            #expect(column(followed, field) == column(written, field), "\(field)")
        }
        let followedVectors: [Float] = Array(followed.contents.top.matrix)
        let writtenVectors: [Float] = Array(written.contents.top.matrix)
        #expect(followedVectors == writtenVectors)
        // The lexical section too: the follower tokenised only the rows whose text changed and
        // took the rest from its previous file, and ends with the writer's index, byte for byte.
        func lexical(_ snapshot: MappedSnapshot) -> [UInt8] {
            snapshot.contents.top.header.lexicalOffset.map { Array(snapshot.contents.top.buffer[$0..<($0 + (snapshot.contents.top.header.lexicalLength ?? 0))]) } ?? []
        }
        #expect(!lexical(written).isEmpty && lexical(followed) == lexical(written))
        let questions = column(followed, .question)
        #expect(!questions.contains(removed.question))
        #expect(questions.contains(added.question))

        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "SIGTERM stops the follower cleanly: \(errors.all)")
    }

    /// A reader host's `serve` has no writer beside it: the FAQ team's page reads the activity
    /// from the database it is configured with.
    @Test func aReaderHostsPageShowsTheSyncsFromTheDatabase() async throws {
        let harness = try PostgresProcessHarness("reader-page")
        defer { harness.directory.remove() }
        var faq = GeneratedFAQ(count: 50)
        try faq.writeXLSX(to: harness.faqURL)
        #expect(try harness.sync().status == 0)
        faq.entries[3].answer += " Обновлено."
        try faq.writeXLSX(to: harness.faqURL)
        #expect(try harness.sync().status == 0)

        var reader = harness.environment
        reader["SNAPSHOT_PATH"] = harness.directory.path("reader.snapshot")
        reader["LOG_LEVEL"] = "error"
        let (process, out, err) = try CLIProcess.start(["serve", "--port", "0"], environment: reader, directory: harness.directory.url)
        defer { if process.isRunning { process.terminate(); process.waitUntilExit() } }
        let output = OutputCollector(out)
        let listening = try #require(try await output.waitForLine { $0.contains("listening on http://") }, "\(OutputCollector(err).all)")
        let port = try #require(listening.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression).map { listening[$0].split(separator: ":")[1] })
        #expect(!FileManager.default.fileExists(atPath: harness.directory.path("reader.snapshot.activity.json")))

        let syncs = try CLIProcess.runTool("/usr/bin/curl", ["-sf", "--max-time", "10", "http://127.0.0.1:\(port)/v1/syncs"])
        #expect(syncs.status == 0)
        let json = try jsonObject(syncs.stdout)
        let runs = try #require(json["recent_syncs"] as? [[String: Any]])
        #expect(runs.count == 2)
        let changes = try #require(runs.first?["changes"] as? [[String: Any]])
        #expect(changes.map { $0["question"] as? String } == [faq.entries[3].question])
        let page = try CLIProcess.runTool("/usr/bin/curl", ["-sf", "--max-time", "10", "http://127.0.0.1:\(port)/?lang=en"])
        #expect(page.stdout.contains("changed</span> <span class=\"question\">"), "the page says what the save changed, in the editor's words")
    }

    @Test func anUnreachableServerIsNamedAndThePasswordNeverShown() throws {
        let directory = try TemporaryDirectory("unreachable")
        defer { directory.remove() }
        try FileManager.default.copyItem(at: Fixtures.sampleFAQ, to: directory.file("faq.xlsx"))
        let environment = ["STORAGE_BACKEND": "postgres", "DATABASE_URL": "postgres://faq:hunter2secret@127.0.0.1:1/faqsync",
                           "FAQ_PATH": directory.path("faq.xlsx"), "SNAPSHOT_PATH": directory.path("s.snapshot")]
        let sync = try CLIProcess.run(["sync"], environment: environment, directory: directory.url)
        #expect(sync.status != 0)
        #expect(sync.stderr.contains("127.0.0.1:1"), "\(sync.stderr)")
        #expect(sync.stderr.contains("connection-failed"), "\(sync.stderr)")
        #expect(sync.stderr.contains("postgres://faq:***@127.0.0.1:1/faqsync"), "\(sync.stderr)")
        let status = try CLIProcess.run(["status"], environment: environment, directory: directory.url)
        for output in [sync.stdout, sync.stderr, status.stdout, status.stderr] {
            #expect(!output.contains("hunter2secret"))
        }
        #expect(!FileManager.default.fileExists(atPath: directory.path("s.snapshot")))
    }

    /// Under `watch`, an unreachable database at start-up is an error in the log, not an exit:
    /// the daemon keeps retrying with backoff.
    @Test func theDaemonStartsAndRetriesWhenTheServerIsUnreachable() async throws {
        let directory = try TemporaryDirectory("watch-unreachable")
        defer { directory.remove() }
        try FileManager.default.copyItem(at: Fixtures.sampleFAQ, to: directory.file("faq.xlsx"))
        let environment = ["STORAGE_BACKEND": "postgres", "DATABASE_URL": "postgres://faq:hunter2secret@127.0.0.1:1/faqsync",
                           "FAQ_PATH": directory.path("faq.xlsx"), "SNAPSHOT_PATH": directory.path("s.snapshot"), "LOG_LEVEL": "info"]
        let (process, out, err) = try CLIProcess.start(["watch"], environment: environment, directory: directory.url)
        _ = OutputCollector(out)
        let log = OutputCollector(err)
        defer { if process.isRunning { process.terminate(); process.waitUntilExit() } }
        let first = try await log.waitForLine { $0.contains("sync failed (attempt 1); retrying") }
        #expect(first?.contains("cannot reach the database at 127.0.0.1:1") == true, "\(log.all)")
        #expect(try await log.waitForLine { $0.contains("sync failed (attempt 2)") } != nil, "a second attempt after the backoff: \(log.all)")
        #expect(process.isRunning, "still running: \(log.all)")
        #expect(!log.all.contains("hunter2secret"))
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    @Test func storeCopyMovesEveryVersionAndVectorWithoutAnEmbeddingCall() async throws {
        let directory = try TemporaryDirectory("copy")
        defer { directory.remove() }
        let sqlitePath = directory.path("store.db")
        try FileManager.default.copyItem(at: Fixtures.faq, to: directory.file("faq.xlsx"))
        // Two versions in SQLite: 256 dimensions, then 128 (current).
        for dimension in ["256", "128"] {
            let result = try CLIProcess.run(["sync", "--yes", "--db", sqlitePath, "--faq", directory.path("faq.xlsx"),
                                             "--snapshot", directory.path("s.snapshot")],
                                            environment: ["EMBEDDING_DIMENSIONS": dimension], directory: directory.url)
            #expect(result.status == 0, "\(result.stderr)")
        }
        let database = try TestDatabase("copy")
        // Any embedding call would fail: the configured provider points at a closed port.
        let copy = try CLIProcess.run(["store", "copy", "--from", "sqlite:\(sqlitePath)", "--to", "postgres"],
                                      environment: ["DATABASE_URL": database.url, "EMBEDDING_PROVIDER": "openai",
                                                    "EMBEDDING_MODEL": "bge-m3", "EMBEDDING_BASE_URL": "http://127.0.0.1:1/v1"],
                                      directory: directory.url)
        #expect(copy.status == 0, "\(copy.stderr)")

        let source = SQLiteTemplateStore(path: sqlitePath)
        let target = PostgresTemplateStore(settings: database.settings)
        let sourceVersions = try await source.versions()
        let targetVersions = try await target.versions()
        #expect(sourceVersions.count == 2)
        let targetModels = targetVersions.map(\.model).sorted { $0.dimension < $1.dimension }
        let sourceModels = sourceVersions.map(\.model).sorted { $0.dimension < $1.dimension }
        #expect(targetModels == sourceModels)
        for version in sourceVersions {
            let copied = try #require(targetVersions.first { $0.model == version.model })
            #expect(copied.isCurrent == version.isCurrent)
            #expect(copied.templateCount == 201)
            let expected = try await source.templates(versionID: version.id)
            let actual = try await target.templates(versionID: copied.id)
            #expect(actual == expected, "every field, hash and vector bit for bit (\(version.model))")
        }
        #expect(try await target.checkIntegrity().passed)

        // A sync on the copy finds everything unchanged: the hashes carried over.
        let resync = try CLIProcess.run(["sync", "--json", "--faq", directory.path("faq.xlsx"), "--snapshot", directory.path("s2.snapshot")],
                                        environment: ["STORAGE_BACKEND": "postgres", "DATABASE_URL": database.url,
                                                      "EMBEDDING_DIMENSIONS": "128"], directory: directory.url)
        #expect(resync.status == 0, "\(resync.stderr)")
        #expect(try jsonObject(resync.stdout)["unchanged"] as? Int == 201)
        #expect(try jsonObject(resync.stdout)["embedded_texts"] as? Int == 0)

        let again = try CLIProcess.run(["store", "copy", "--from", "sqlite:\(sqlitePath)", "--to", database.url], directory: directory.url)
        #expect(again.status != 0)
        #expect(again.stderr.contains("copy into an empty store"), "\(again.stderr)")
    }

    @Test func theOptionalHNSWIndexServesSQLSearches() async throws {
        let harness = try PostgresProcessHarness("hnsw")
        defer { harness.directory.remove() }
        try FileManager.default.copyItem(at: Fixtures.faq, to: harness.faqURL)
        var environment = harness.environment
        environment["POSTGRES_HNSW"] = "1"
        let result = try CLIProcess.run(["sync"], environment: environment, directory: harness.directory.url)
        #expect(result.status == 0, "\(result.stderr)")

        let store = harness.store
        let version = try #require(try await store.currentVersion())
        let probe = try await store.templates(versionID: version.id)[17]
        let connection = try harness.database.connect()
        #expect(try connection.execute("SELECT 1 FROM pg_indexes WHERE indexname = $1", [.text("templates_hnsw_v\(version.id)")]).rowCount == 1)
        // The query docs/operating.md documents.
        let sql = """
            SELECT template_id FROM templates WHERE version_id = $1
            ORDER BY embedding::vector(256) <=> $2::vector(256) LIMIT 3
            """
        let hits = try connection.execute(sql, [.integer(version.id), .vector(probe.vector)])
        #expect(hits.rowCount == 3)
        #expect(hits.string(0, 0) == probe.id)
        try connection.execute("SET enable_seqscan = off")
        let plan = try connection.execute("EXPLAIN " + sql, [.integer(version.id), .vector(probe.vector)])
        #expect((0..<plan.rowCount).contains { plan.string($0, 0).contains("templates_hnsw_v\(version.id)") })
    }
}
