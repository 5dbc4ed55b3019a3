import Embedding
import Foundation
import GRDB
import SQLiteStore
import TemplateStore
import Testing
import TestSupport

/// `faqsync` as a user runs it, against a real HTTP server speaking the OpenAI API.
@Suite("providers from the command line", .serialized)
struct ProviderCLITests {
    static func environment(_ server: FakeEmbeddingServer, _ extra: [String: String] = [:]) -> [String: String] {
        ["EMBEDDING_PROVIDER": "openai", "EMBEDDING_BASE_URL": server.openAIBaseURL, "EMBEDDING_MODEL": "bge-m3",
         "EMBEDDING_MODEL_VERSION": "v1", "EMBEDDING_DIMENSIONS": "\(server.dimension)"].merging(extra) { _, new in new }
    }

    /// The server dies after 3 of 11 batches: the sync fails, the store and snapshot are as
    /// before; after a restart, only the texts still missing are sent.
    @Test func aServerThatDiesMidSyncCostsNothingTwice() async throws {
        let directory = try TemporaryDirectory("provider-crash")
        defer { directory.remove() }
        let common = ["--faq", Fixtures.faq.path, "--db", directory.path("store.db"), "--snapshot", directory.path("s.snapshot"), "--json"]
        var behaviour = FakeEmbeddingServer.Behaviour()
        behaviour.stopAfterSuccesses = 3
        let first = try await FakeEmbeddingServer(dimension: 64, behaviour: behaviour)
        // 200 distinct texts in batches of 19: 11 batches.
        let settings = ["EMBEDDING_BATCH_SIZE": "19", "EMBEDDING_MAX_CONCURRENCY": "1", "EMBEDDING_MAX_ATTEMPTS": "3", "EMBEDDING_RETRY_MAX_S": "5",
                        "EMBEDDING_TIMEOUT_S": "2"]
        let failed = try CLIProcess.run(["sync"] + common, environment: Self.environment(first, settings))
        #expect(failed.status == 1)
        #expect(failed.stderr.contains(first.openAIBaseURL), "the error names the endpoint: \(failed.stderr)")
        #expect(first.inputs >= 57)
        #expect(!FileManager.default.fileExists(atPath: directory.path("s.snapshot")), "no snapshot was published")
        let queue = try DatabaseQueue(path: directory.path("store.db"))
        let versionCount = try await queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM embedding_versions") }
        #expect(versionCount == 0, "no version, no template")
        let cached = try await queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM embedding_cache") }
        #expect(cached == 57, "3 batches of 19 were kept")
        try queue.close()
        await first.stop()

        let second = try await FakeEmbeddingServer(dimension: 64)
        let done = try CLIProcess.run(["sync"] + common, environment: Self.environment(second, settings))
        #expect(done.status == 0, "\(done.stderr)")
        let report = try done.json()
        #expect(second.inputs == 200 - 57)
        #expect(report["embedded_texts"] as? Int == 143)
        #expect(report["cache_hits"] as? Int == 57)
        #expect(report["templates"] as? Int == 201)
        await second.stop()
    }

    /// The old system's real bge-m3 vectors, imported, make a switch to bge-m3 free.
    @Test func importLegacyThenSyncSendsNothingAndStoresTheLegacyVectorsBitForBit() async throws {
        let directory = try TemporaryDirectory("import-legacy")
        defer { directory.remove() }
        let db = directory.path("store.db")
        let common = ["--faq", Fixtures.faq.path, "--db", db, "--snapshot", directory.path("s.snapshot"), "--json"]
        let imported = try CLIProcess.run(["import-legacy", Fixtures.legacyStore.path] + common)
        #expect(imported.status == 0, "\(imported.stderr)")
        let summary = try imported.json()
        #expect((summary["records"] as? Int, summary["matched_templates"] as? Int) == (201, 201))
        // Each old id with faqsync's id and the sheet row: tmpl_NNN is data row NNN, sheet row NNN + 2.
        let ids = try #require(summary["ids"] as? [[String: Any]])
        #expect(ids.count == 201 && ids.allSatisfy { ($0["template_id"] as? String)?.hasPrefix("k") == true })
        #expect(ids.filter { ($0["legacy_id"] as? String).flatMap { Int($0.dropFirst("tmpl_".count)) }.map { $0 + 2 } == $0["row"] as? Int }.count == 200,
                "the old ids count data rows from row 2; tmpl_126 has the same text as the row-122 template, and maps to it")

        let server = try await FakeEmbeddingServer(dimension: 1024)
        let synced = try CLIProcess.run(["sync"] + common, environment: Self.environment(server))
        #expect(synced.status == 0, "\(synced.stderr)")
        #expect(server.requests == 0, "0 texts sent")
        #expect(try synced.json()["templates"] as? Int == 201)

        let legacy = try LegacyStore(path: Fixtures.legacyStore.path).read()
        let store = SQLiteTemplateStore(path: db)
        let version = try #require(try await store.currentVersion())
        #expect(version.model == ModelIdentity(name: "bge-m3", version: "v1", dimension: 1024))
        let stored = try await store.templates(versionID: version.id)
        #expect(stored.count == 201)
        // Texts as faqsync reads them; the first legacy record of each text is the one cached.
        func key(_ question: String, _ answer: String) -> String {
            question.trimmingCharacters(in: .whitespacesAndNewlines) + "\u{1}" + answer.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var firstVectorOfText: [String: [Float]] = [:]
        for record in legacy.records.sorted(by: { $0.templateID < $1.templateID }) where firstVectorOfText[key(record.question, record.answer)] == nil {
            firstVectorOfText[key(record.question, record.answer)] = record.vector
        }
        #expect(firstVectorOfText.count == 200, "201 records, one text twice")
        for template in stored {
            let expected = try #require(firstVectorOfText[key(template.question, template.answer)])
            #expect(template.vector.map(\.bitPattern) == expected.map(\.bitPattern), "template \(template.id)")
        }
        await server.stop()
    }

    @Test func importLegacyRefusesAFileOfAnotherSchema() throws {
        let directory = try TemporaryDirectory("import-refuse")
        defer { directory.remove() }
        let db = directory.path("store.db")
        #expect(try CLIProcess.run(["sync", "--faq", Fixtures.sampleFAQ.path, "--db", db]).status == 0)
        let result = try CLIProcess.run(["import-legacy", db, "--faq", Fixtures.sampleFAQ.path, "--db", directory.path("other.db")])
        #expect(result.status == 1)
        #expect(result.stderr.contains("this is not the original system's embedding store: table embedding_versions lacks version_id, embedding_dimension"))
    }

    /// The key set in the environment appears in no log line and no output.
    @Test func theAPIKeyNeverAppears() async throws {
        let directory = try TemporaryDirectory("secret")
        defer { directory.remove() }
        let key = "sk-test-DO-NOT-PRINT-4711"
        var behaviour = FakeEmbeddingServer.Behaviour()
        behaviour.requiredKey = key
        behaviour.faults = [.status(503)]
        let server = try await FakeEmbeddingServer(dimension: 64, behaviour: behaviour)
        let common = ["--faq", Fixtures.sampleFAQ.path, "--db", directory.path("store.db"), "--snapshot", directory.path("s.snapshot")]
        var outputs: [CLIProcess.Result] = []
        let environment = Self.environment(server, ["EMBEDDING_API_KEY": key, "LOG_LEVEL": "trace"])
        outputs.append(try CLIProcess.run(["sync"] + common, environment: environment))
        outputs.append(try CLIProcess.run(["sync", "--json"] + common, environment: environment))
        outputs.append(try CLIProcess.run(["status", "--json"] + common, environment: environment))
        outputs.append(try CLIProcess.run(["sync"] + common, environment: Self.environment(server, ["EMBEDDING_API_KEY": "sk-wrong-DO-NOT-PRINT-0815", "LOG_LEVEL": "trace", "EMBEDDING_DIMENSIONS": "32"])))
        #expect(outputs[0].status == 0, "\(outputs[0].stderr)")
        #expect(outputs[0].stderr.contains("retrying"), "trace logging was on and the retry was logged")
        #expect(outputs[3].status == 1, "the wrong key is refused")
        for output in outputs {
            #expect(!output.stdout.contains("DO-NOT-PRINT") && !output.stderr.contains("DO-NOT-PRINT"))
        }
        await server.stop()
    }

    @Test func theKeyComesFromAFileOrASystemdCredential() async throws {
        let directory = try TemporaryDirectory("key-file")
        defer { directory.remove() }
        var behaviour = FakeEmbeddingServer.Behaviour()
        behaviour.requiredKey = "from-a-file"
        let server = try await FakeEmbeddingServer(dimension: 64, behaviour: behaviour)
        try "from-a-file\n".write(to: directory.file("embedding-api-key"), atomically: true, encoding: .utf8)
        let common = ["--faq", Fixtures.sampleFAQ.path, "--snapshot", directory.path("s.snapshot")]
        let viaFile = try CLIProcess.run(["sync", "--db", directory.path("a.db")] + common,
                                         environment: Self.environment(server, ["EMBEDDING_API_KEY_FILE": directory.path("embedding-api-key")]))
        #expect(viaFile.status == 0, "\(viaFile.stderr)")
        let viaCredential = try CLIProcess.run(["sync", "--db", directory.path("b.db")] + common,
                                               environment: Self.environment(server, ["CREDENTIALS_DIRECTORY": directory.url.path]))
        #expect(viaCredential.status == 0, "\(viaCredential.stderr)")
        await server.stop()
    }

    @Test func statusListsQuarantinedTemplatesAndCosts() async throws {
        let directory = try TemporaryDirectory("status-quarantine")
        defer { directory.remove() }
        var behaviour = FakeEmbeddingServer.Behaviour()
        behaviour.rejectInput = "How do I open a deposit? Open a deposit in the mobile app under Deposits → Open. Choose the term and amount and confirm with the SMS code."
        let server = try await FakeEmbeddingServer(dimension: 64, behaviour: behaviour)
        let common = ["--faq", Fixtures.sampleFAQ.path, "--db", directory.path("store.db"), "--snapshot", directory.path("s.snapshot"), "--json"]
        let sync = try CLIProcess.run(["sync"] + common, environment: Self.environment(server))
        #expect(sync.status == 0, "\(sync.stderr)")
        let report = try sync.json()
        #expect((report["quarantined"] as? [[String: Any]])?.count == 1)
        #expect(report["tokens"] as? Int == 290)
        let status = try CLIProcess.run(["status"] + common, environment: Self.environment(server)).json()
        let quarantined = try #require(status["quarantined"] as? [[String: Any]])
        #expect(quarantined.first?["reason"] as? String == "input is too long: 9000 tokens > 8192")
        #expect((status["last_run"] as? [String: Any])?["tokens"] as? Int == 290)
        #expect((status["current_version"] as? [String: Any])?["templates"] as? Int == 29)
        await server.stop()
    }
}
