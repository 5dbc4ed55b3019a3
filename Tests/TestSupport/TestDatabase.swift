import Foundation
import PostgresClient

/// The backends the store conformance tests run on.
public enum StoreBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres
    public var description: String { rawValue }
}

/// A database of its own on the test PostgreSQL server (started by `scripts/postgres.sh`, which
/// `scripts/test.sh` runs), dropped when the last reference goes.
///
/// The server is `FAQSYNC_TEST_POSTGRES_URL`, default postgres://postgres@127.0.0.1:55432/postgres.
public final class TestDatabase: Sendable {
    public let settings: PostgresSettings
    public let name: String

    public static var server: PostgresSettings {
        let url = ProcessInfo.processInfo.environment["FAQSYNC_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:55432/postgres"
        var settings = (try? PostgresSettings(url: url)) ?? PostgresSettings(port: 55432, database: "postgres")
        settings.connectTimeoutSeconds = 3
        return settings
    }

    public init(_ label: String) throws {
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
    public func connect() throws -> PostgresConnection { try PostgresConnection.connect(settings, applicationName: "faqsync-tests") }

    /// Every row of the data tables as JSON text, in a stable order, to prove what changed.
    public func dataRows(tables: [String] = ["embedding_versions", "templates", "embedding_cache"]) throws -> [String] {
        let connection = try connect()
        var rows: [String] = []
        for table in tables {
            let result = try connection.execute("SELECT row_to_json(r)::text FROM (SELECT * FROM \(table) ORDER BY 1, 2) r")
            rows += (0..<result.rowCount).map { "\(table): \(result.string($0, 0))" }
        }
        return rows
    }

    /// `DATABASE_URL` for a child process.
    public var url: String { "postgres://\(settings.user)@\(settings.endpoint)/\(name)" }
}

public struct TestDatabaseError: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
