import Foundation
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
