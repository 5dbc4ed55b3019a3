import Embedding
import Foundation
import GRDB
import Logging
import Reconciliation
import SpreadsheetReading
import SyncEngine
import SQLiteStore
import TemplateStore
import Testing
import TestSupport

/// A sync that fails for any reason leaves the store's data exactly as it was.
@Suite("failed syncs lose nothing")
struct FailedSyncTests {
    enum BadFile: String, CaseIterable {
        case missing, notAZip, truncated, doctype, noHeader, passwordProtected
    }

    func makeBad(_ kind: BadFile, at url: URL) throws {
        try? FileManager.default.removeItem(at: url)
        let header = ["category", "subcategory", "question", "answer"]
        switch kind {
        case .missing: break
        case .notAZip: try Data("just text".utf8).write(to: url)
        case .truncated:
            let bytes = try Data(contentsOf: Fixtures.faq)
            try bytes.prefix(bytes.count / 2).write(to: url)
        case .doctype:
            let parts = try XLSXWriter.table([header, ["c", "s", "q", "a"]]).parts().map { part in
                part.path == "xl/sharedStrings.xml"
                    ? (path: part.path, data: Data(#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><sst><si><t>&e;</t></si></sst>"#.utf8))
                    : part
            }
            try XLSXWriter.writePackage(parts, to: url)
        case .noHeader: try XLSXWriter.table([["Тема", "Текст"], ["a", "b"]]).write(to: url)
        case .passwordProtected: try CompoundFile.withStreams(["EncryptionInfo", "EncryptedPackage"]).write(to: url)
        }
    }

    @Test(arguments: BadFile.allCases, StoreBackend.available)
    func aBadSpreadsheetLeavesTheStoreAsItWas(kind: BadFile, backend: StoreBackend) async throws {
        let harness = try SyncHarness("bad-\(kind.rawValue)", backend: backend)
        defer { harness.directory.remove() }
        try FileManager.default.copyItem(at: Fixtures.faq, to: harness.faqURL)
        let embedder = localEmbedder()
        try await harness.sync(embedder)
        let before = try harness.dataRows()

        try makeBad(kind, at: harness.faqURL)
        embedder.reset()
        await #expect(throws: (any Error).self) { try await harness.sync(embedder) }
        #expect(embedder.requests == 0)
        #expect(try harness.dataRows() == before)
        let runs = try await harness.runs()
        #expect(runs.first?.outcome == .failed)
        #expect(runs.first?.error?.contains(harness.faqURL.path) == true, "the failure names the file: \(runs.first?.error ?? "")")
        #expect(try await harness.store.checkIntegrity().passed)
    }

    @Test func aBadFileOnAFreshPathCreatesNoStore() async throws {
        let harness = try SyncHarness("fresh-bad")
        defer { harness.directory.remove() }
        try makeBad(.notAZip, at: harness.faqURL)
        await #expect(throws: SpreadsheetError.self) { try await harness.sync(localEmbedder()) }
        #expect(!FileManager.default.fileExists(atPath: harness.databasePath))
        let left = try FileManager.default.contentsOfDirectory(atPath: harness.directory.url.path).filter { $0.hasPrefix("faqsync.snapshot") }
        #expect(left.isEmpty, "no snapshot and no activity document either: \(left)")
    }

    @Test(arguments: StoreBackend.available)
    func anEmbeddingFailureKeepsTheStoreAndTheNextSyncSendsOnlyWhatIsMissing(backend: StoreBackend) async throws {
        let harness = try SyncHarness("embed-fail", backend: backend)
        defer { harness.directory.remove() }
        try FileManager.default.copyItem(at: Fixtures.faq, to: harness.faqURL)
        // 200 texts in batches of 32 = 7 requests; the 4th fails.
        let failing = CountingEmbedder(LocalHashingEmbedder(dimension: 256, batchSize: 32), failAfterRequests: 3)
        await #expect(throws: CountingEmbedder.InjectedFailure.self) { try await harness.sync(failing) }
        #expect(try await harness.store.versions().isEmpty, "no version, no template: nothing half-applied")

        let healthy = localEmbedder()
        let report = try await harness.sync(healthy)
        #expect(healthy.texts == 200 - 3 * 32, "the 96 vectors received before the failure came from the cache")
        #expect(report.cacheHits == 96)
        #expect(report.templates == 201)
    }

    @Test func aStoreFromANewerSchemaIsRefusedAndLeftByteForByte() async throws {
        let harness = try SyncHarness("newer-schema")
        defer { harness.directory.remove() }
        try FileManager.default.copyItem(at: Fixtures.faq, to: harness.faqURL)
        try await harness.sync(localEmbedder())
        let queue = try DatabaseQueue(path: harness.databasePath)
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v9-from-the-future')")
        }
        try queue.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: harness.databasePath))

        await #expect {
            try await harness.sync(localEmbedder(), store: harness.reopenedStore())
        } throws: { error in
            (error as? StoreError)?.code == .newerSchema && "\(error)".contains("v9-from-the-future")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: harness.databasePath)) == before)
    }

    @Test func aPostgresDatabaseFromANewerSchemaIsRefusedAndLeftAsItWas() async throws {
        let harness = try SyncHarness("newer-schema-pg", backend: .postgres)
        defer { harness.directory.remove() }
        try FileManager.default.copyItem(at: Fixtures.faq, to: harness.faqURL)
        try await harness.sync(localEmbedder())
        let database = try #require(harness.database)
        try database.connect().execute("INSERT INTO faqsync_migrations (id) VALUES ('v9-from-the-future')")
        let before = try database.dataRows(tables: ["embedding_versions", "templates", "embedding_cache", "sync_runs", "faqsync_migrations"])

        await #expect {
            try await harness.sync(localEmbedder(), store: harness.reopenedStore())
        } throws: { error in
            (error as? StoreError)?.code == .newerSchema && "\(error)".contains("v9-from-the-future")
        }
        #expect(try database.dataRows(tables: ["embedding_versions", "templates", "embedding_cache", "sync_runs", "faqsync_migrations"]) == before)
    }

    @Test func aFileThatIsNotADatabaseIsRefused() async throws {
        let harness = try SyncHarness("not-db")
        defer { harness.directory.remove() }
        try FileManager.default.copyItem(at: Fixtures.faq, to: harness.faqURL)
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: harness.databasePath))
        await #expect {
            try await harness.sync(localEmbedder())
        } throws: { error in
            (error as? StoreError)?.code == .notADatabase
        }
    }

    @Test func theDatabaseFileIsPrivate() async throws {
        let harness = try SyncHarness("mode")
        defer { harness.directory.remove() }
        try FileManager.default.copyItem(at: Fixtures.sampleFAQ, to: harness.faqURL)
        try await harness.sync(localEmbedder())
        let mode = try FileManager.default.attributesOfItem(atPath: harness.databasePath)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}
