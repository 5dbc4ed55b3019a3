import Foundation
import Redaction
import PostgresClient
import PostgresStore
import SQLiteStore
import TemplateStore

/// A store named on the command line (`store copy --from/--to`): `sqlite:PATH`, `postgres` (the
/// database the environment configures) or a `postgres://` URL.
package enum StoreLocation: Sendable {
    case sqlite(path: String)
    case postgres(PostgresSettings)

    /// - Parameter option: the flag it came from, for the error.
    package init(_ text: String, option: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw ConfigurationError(key: option, message: "needs a path after sqlite:") }
            self = .sqlite(path: path)
        } else if text == "postgres" {
            self = .postgres(try FAQSyncConfiguration.postgresSettingsFromEnvironment(environment))
        } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            var settings: PostgresSettings
            do { settings = try PostgresSettings(url: text) } catch let error as PostgresSettingsError {
                throw ConfigurationError(key: option, message: error.message)
            }
            // A URL without a password takes it from POSTGRES_PASSWORD(_FILE) or the credential,
            // so it need not appear on a command line (where `ps` shows it to every user).
            if settings.password == nil,
               let password = try FAQSyncConfiguration.secret(SettingsReader(environment: environment), key: "POSTGRES_PASSWORD", credential: "postgres-password") {
                settings.password = PostgresPassword(password)
            }
            self = .postgres(settings)
        } else {
            throw ConfigurationError(key: option, message: "must be sqlite:PATH, postgres or a postgres:// URL, not '\(Redaction.bounded(text, limit: 80))'")
        }
    }

    package func makeStore() -> any TemplateStore {
        switch self {
        case .sqlite(let path): SQLiteTemplateStore(path: path)
        case .postgres(let settings): PostgresTemplateStore(settings: settings)
        }
    }
}
