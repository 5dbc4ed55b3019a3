import Foundation
import PostgresClient

/// The backends the store conformance tests run on.
package enum StoreBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres
    package var description: String { rawValue }

    /// SQLite always; PostgreSQL when a test server is configured (`TestDatabase.isConfigured`).
    /// Without one, the PostgreSQL suites say that they were skipped and why.
    package static var available: [StoreBackend] { TestDatabase.isConfigured ? allCases : [.sqlite] }
}

/// A database of its own on the test PostgreSQL server (started by `scripts/postgres.sh`, which
/// `scripts/test.sh` runs), dropped when the last reference goes.
///
/// The server is `FAQSYNC_TEST_POSTGRES_URL`, default postgres://postgres@127.0.0.1:55432/postgres.
package final class TestDatabase: Sendable {
    package let settings: PostgresSettings
    package let name: String

    /// True when `FAQSYNC_TEST_POSTGRES_URL` names a test server (scripts/test.sh starts one and
    /// sets it). Without it the PostgreSQL tests are skipped with `notConfiguredReason`.
    package static var isConfigured: Bool { !(ProcessInfo.processInfo.environment["FAQSYNC_TEST_POSTGRES_URL"] ?? "").isEmpty }

    package static let notConfiguredReason = """
        no PostgreSQL test server configured: set FAQSYNC_TEST_POSTGRES_URL (scripts/test.sh starts one with \
        `bash scripts/postgres.sh start` and sets it to postgres://postgres@127.0.0.1:55432/postgres)
        """

    package static var server: PostgresSettings {
        let url = ProcessInfo.processInfo.environment["FAQSYNC_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:55432/postgres"
        var settings = (try? PostgresSettings(url: url)) ?? PostgresSettings(port: 55432, database: "postgres")
        settings.connectTimeoutSeconds = 3
        return settings
    }

    package init(_ label: String) throws {
        let safe = label.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
        name = "faqsync_test_\(String(safe).prefix(30))_\(UInt32.random(in: 0...UInt32.max))"
        let admin: PostgresConnection
        do {
            admin = try PostgresConnection.connect(Self.server)
        } catch {
            throw TestDatabaseError(message: "the test PostgreSQL server is not running (\(error)); start it with `bash scripts/postgres.sh start`")
        }
        // Identifiers cannot be parameters; the name is built from [a-z0-9_] above.
        try admin.executeScript("CREATE DATABASE \(name)")
        settings = Self.server.database(name)
    }

    deinit {
        // FORCE ends the sessions a store's pool still holds.
        if let admin = try? PostgresConnection.connect(Self.server) {
            try? admin.executeScript("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        }
    }

    /// Runs statements on a connection of the test's own (not the store's).
    package func connect() throws -> PostgresConnection { try PostgresConnection.connect(settings, applicationName: "faqsync-tests") }

    /// Every row of the data tables as JSON text, in a stable order, to prove what changed.
    package func dataRows(tables: [String] = ["embedding_versions", "templates", "embedding_cache"]) throws -> [String] {
        let connection = try connect()
        var rows: [String] = []
        for table in tables {
            let result = try connection.execute("SELECT row_to_json(r)::text FROM (SELECT * FROM \(table) ORDER BY 1, 2) r")
            rows += (0..<result.rowCount).map { "\(table): \(result.string($0, 0))" }
        }
        return rows
    }

    /// `DATABASE_URL` for a child process.
    package var url: String { "postgres://\(settings.user)@\(settings.endpoint)/\(name)" }
}

package struct TestDatabaseError: Error, CustomStringConvertible {
    package let message: String
    package init(message: String) { self.message = message }
    package var description: String { message }
}
