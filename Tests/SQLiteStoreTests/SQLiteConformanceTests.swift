import Foundation
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
