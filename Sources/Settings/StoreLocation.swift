import Foundation
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
            do { self = .postgres(try PostgresSettings(url: text)) } catch let error as PostgresSettingsError {
                throw ConfigurationError(key: option, message: error.message)
            }
        } else {
            throw ConfigurationError(key: option, message: "must be sqlite:PATH, postgres or a postgres:// URL, not '\(text.prefix(80))'")
        }
    }

    package func makeStore() -> any TemplateStore {
        switch self {
        case .sqlite(let path): SQLiteTemplateStore(path: path)
        case .postgres(let settings): PostgresTemplateStore(settings: settings)
        }
    }
}
