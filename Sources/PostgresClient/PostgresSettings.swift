import CodedErrors
import Foundation
import Redaction

/// Where and how to connect: from `DATABASE_URL` or the `POSTGRES_*` settings.
///
/// The password is kept out of every description; `redactedURL` is what logs, errors and
/// `faqsync status` show.
package struct PostgresSettings: Sendable, Hashable {
    package var host: String
    package var port: Int
    package var database: String
    package var user: String
    package var password: PostgresPassword?
    /// libpq's sslmode: disable, allow, prefer (libpq's default), require, verify-ca, verify-full.
    package var sslMode: String?
    package var poolSize: Int
    /// How long to wait for a connection before calling the server unreachable.
    package var connectTimeoutSeconds: Int

    package static let defaultPoolSize = 5

    package init(host: String = "127.0.0.1", port: Int = 5432, database: String = "faqsync", user: String = "postgres",
                password: PostgresPassword? = nil, sslMode: String? = nil, poolSize: Int = defaultPoolSize,
                connectTimeoutSeconds: Int = 5) {
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.password = password
        self.sslMode = sslMode
        self.poolSize = poolSize
        self.connectTimeoutSeconds = connectTimeoutSeconds
    }

    /// Parses `postgres://user:password@host:port/database?sslmode=require`.
    package init(url text: String, poolSize: Int = defaultPoolSize) throws {
        guard let components = URLComponents(string: text),
              components.scheme == "postgres" || components.scheme == "postgresql" else {
            throw PostgresSettingsError(message: Self.malformed(text))
        }
        // A '#', '?' or '/' in a password ends the authority early: the rest would be taken for
        // a fragment or a path and the connection made to the wrong place with a cut password.
        guard components.fragment == nil, !(components.host ?? "").isEmpty || !text.contains("@") else {
            throw PostgresSettingsError(message: Self.malformed(text))
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        self.init(host: components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1",
                  port: components.port ?? 5432,
                  database: database.isEmpty ? "faqsync" : database.removingPercentEncoding ?? database,
                  user: components.user?.removingPercentEncoding ?? "postgres",
                  password: components.password.map { PostgresPassword($0.removingPercentEncoding ?? $0) },
                  sslMode: components.queryItems?.first(where: { $0.name == "sslmode" })?.value,
                  poolSize: poolSize)
        if let timeout = components.queryItems?.first(where: { $0.name == "connect_timeout" })?.value.flatMap(Int.init) {
            connectTimeoutSeconds = timeout
        }
    }

    /// The same server and credentials, another database (tests create their own).
    package func database(_ name: String) -> PostgresSettings {
        var copy = self
        copy.database = name
        return copy
    }

    /// host:port, for messages about reaching the server.
    package var endpoint: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The DSN as a URL with the password masked.
    package var redactedURL: String {
        let credentials = password == nil ? user : "\(user):***"
        return "postgres://\(credentials)@\(endpoint)/\(database)" + (sslMode.map { "?sslmode=\($0)" } ?? "")
    }

    /// libpq's keyword/value connection string. Values are single-quoted with `\` and `'`
    /// escaped, so no setting can inject another keyword.
    func connectionString(applicationName: String) -> String {
        var pairs: [(String, String)] = [("host", host), ("port", String(port)), ("dbname", database), ("user", user),
                                         ("connect_timeout", String(connectTimeoutSeconds)),
                                         ("application_name", applicationName),
                                         // Dead peers (a host that vanished) are noticed in ~40 s rather than hours.
                                         ("keepalives_idle", "20"), ("keepalives_interval", "5"), ("keepalives_count", "4")]
        if let password { pairs.append(("password", password.reveal())) }
        if let sslMode { pairs.append(("sslmode", sslMode)) }
        return pairs.map { key, value in
            "\(key)='\(value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'"))'"
        }.joined(separator: " ")
    }

    /// What is wrong with a URL that does not parse, without its password. (The expected form is
    /// described in words: written as a URL, the redaction of every message would mask it.)
    static func malformed(_ text: String) -> String {
        "'\(redact(text))' is not a postgres:// URL with a user, password, host, port and database (postgres://USER:PASSWORD@HOST:5432/DATABASE); percent-encode any '#', '?', '/' or '@' in the password (%23, %3F, %2F, %40), or leave the password out and give it with POSTGRES_PASSWORD_FILE"
    }

    /// A URL with any password replaced, for error messages about a malformed one.
    static func redact(_ url: String) -> String {
        Redaction.redact(url)
    }
}

/// A database password: never printed.
package struct PostgresPassword: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    private let value: String
    package init(_ value: String) { self.value = value }
    func reveal() -> String { value }
    package var description: String { "***" }
    package var debugDescription: String { "***" }
}

package struct PostgresSettingsError: Error, CustomStringConvertible, Sendable {
    package let message: String
    package var description: String { message }
}

extension PostgresSettingsError: CodedError {
    package var errorCode: String { "configuration" }
}
