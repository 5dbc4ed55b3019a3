import Foundation
import GRDB
import SQLiteStore
import StoreConformance
import Testing
import TestSupport

/// The store contract (Tests/StoreConformance) on a real SQLite file.
@Suite("SQLite store conformance")
struct SQLiteConformanceTests {
    @Test(arguments: StoreConformance.Check.allCases)
    func conforms(_ check: StoreConformance.Check) async throws {
        let directory = try TemporaryDirectory("conformance-\(check)")
        defer { directory.remove() }
        let path = directory.path("store.db")
        try await StoreConformance.run(check) { SQLiteTemplateStore(path: path) }
    }
}

/// A store written before versions recorded their template count gets it from its templates
/// when this faqsync opens it.
@Suite("SQLite store migration")
struct SQLiteMigrationTests {
    @Test func aStoreFromBeforeTheRecordedCountIsCountedOnceWhenMigrated() async throws {
        let directory = try TemporaryDirectory("migration-count")
        defer { directory.remove() }
        let path = directory.path("store.db")
        let store = SQLiteTemplateStore(path: path)
        _ = try await store.apply(StoreConformance.changes {
            $0.inserts = [StoreConformance.template("a", question: "Q a"), StoreConformance.template("b", question: "Q b")]
        })
        await store.close()
        // Back to the schema before migration v9.
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(sql: "ALTER TABLE embedding_versions DROP COLUMN template_count")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v9-version-template-count'")
        }
        try queue.close()

        let reopened = SQLiteTemplateStore(path: path)
        #expect(try await reopened.currentVersion()?.templateCount == 2)
        #expect(try await reopened.checkIntegrity().passed)
        await reopened.close()
    }
}
