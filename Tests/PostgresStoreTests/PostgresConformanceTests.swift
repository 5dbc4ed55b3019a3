import Foundation
import PostgresClient
import PostgresStore
import StoreConformance
import Testing
import TestSupport

/// The store contract (Tests/StoreConformance) on a real PostgreSQL with pgvector, each check
/// in a database of its own.
@Suite("PostgreSQL store conformance", .enabled(if: TestDatabase.isConfigured, Comment(rawValue: TestDatabase.notConfiguredReason)))
struct PostgresConformanceTests {
    @Test(arguments: StoreConformance.Check.allCases)
    func conforms(_ check: StoreConformance.Check) async throws {
        let database = try TestDatabase("conformance-\(check)")
        let settings = database.settings
        try await StoreConformance.run(check) { PostgresTemplateStore(settings: settings) }
        _ = database
    }
}

/// A database written before versions recorded their template count gets it from its templates
/// when this faqsync migrates it.
@Suite("PostgreSQL store migration", .enabled(if: TestDatabase.isConfigured, Comment(rawValue: TestDatabase.notConfiguredReason)))
struct PostgresMigrationTests {
    @Test func aDatabaseFromBeforeTheRecordedCountIsCountedOnceWhenMigrated() async throws {
        let database = try TestDatabase("migration-count")
        let store = PostgresTemplateStore(settings: database.settings)
        _ = try await store.apply(StoreConformance.changes {
            $0.inserts = [StoreConformance.template("a", question: "Q a"), StoreConformance.template("b", question: "Q b")]
        })
        await store.close()
        // Back to the schema before migration v7.
        do {
            // Closed when it goes out of scope.
            let connection = try PostgresConnection.connect(database.settings)
            try connection.execute("ALTER TABLE embedding_versions DROP COLUMN template_count")
            try connection.execute("DELETE FROM faqsync_migrations WHERE id = 'v7-version-template-count'")
        }

        let migrated = PostgresTemplateStore(settings: database.settings)
        #expect(try await migrated.currentVersion()?.templateCount == 2)
        #expect(try await migrated.checkIntegrity().passed)
        await migrated.close()
    }
}
