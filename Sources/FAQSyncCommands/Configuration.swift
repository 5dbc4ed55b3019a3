import Embedding
import EmbeddingProviders
import Foundation
import Logging
import PostgresClient
import Reconciliation
import SpreadsheetReading
import SyncEngine
import TemplateStore

/// Settings resolved from flags, then the environment, then defaults. The environment names are
/// the original system's (`FAQ_PATH`, `STORAGE_BACKEND`, `SQLITE_DB_PATH`, `EMBEDDING_*`), so an
/// existing env file carries over. Every setting is listed with its default in `etc/faqsync.env`.
public struct FAQSyncConfiguration: Sendable {
    public enum Backend: String, Sendable { case sqlite, postgres }

    public var faqPath: String
    public var backend: Backend
    public var sqlitePath: String
    /// Set when the backend is postgres.
    public var postgres: PostgresSettings?
    /// `POSTGRES_HNSW=1`: keep an HNSW index on the current version for SQL searches.
    public var postgresHNSW = false
    public var snapshotPath: String
    public var sheetName: String?
    public var aliases: ColumnAliases
    public var modelInput: ModelInput
    public var embedding: EmbeddingSettings

    public struct EmbeddingSettings: Sendable {
        public var provider: Provider
        /// Configured dimension; for HTTP providers nil means "learn it from the first response".
        public var dimension: Int?
        public var modelVersion: String?
        public var batchSize: Int?
        public var maxConcurrency: Int
        public var http: HTTPEmbedderSettings?
    }

    public enum Provider: String, Sendable, CaseIterable { case local, openai, ollama }

    public static let defaultFAQPath = "data/faq-sample.xlsx"
    public static let defaultDatabaseName = "faqsync.db"

    public init(options: CommonOptions, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        func value(_ key: String) -> String? {
            guard let raw = environment[key]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
            return raw
        }
        func integer(_ key: String) throws -> Int? {
            guard let raw = value(key) else { return nil }
            guard let number = Int(raw), number > 0 else {
                throw ConfigurationError(key: key, message: "must be a positive whole number, not '\(raw)'")
            }
            return number
        }

        faqPath = options.faq ?? value("FAQ_PATH") ?? Self.defaultFAQPath
        let backendName = (options.store ?? value("STORAGE_BACKEND") ?? "sqlite").lowercased()
        guard let backend = Backend(rawValue: backendName) else {
            throw ConfigurationError(key: options.store == nil ? "STORAGE_BACKEND" : "--store",
                                     message: "must be 'sqlite' or 'postgres', not '\(backendName)'")
        }
        self.backend = backend
        if backend == .postgres {
            postgres = try Self.postgresSettings(value: value, integer: integer)
            postgresHNSW = ["1", "true", "yes", "on"].contains(value("POSTGRES_HNSW")?.lowercased() ?? "")
        }
        // Under systemd, StateDirectory= gives the store its home; elsewhere it lives beside the sample data.
        let defaultDatabase = value("STATE_DIRECTORY").map { "\($0.split(separator: ":").first ?? "")/\(Self.defaultDatabaseName)" }
            ?? "data/\(Self.defaultDatabaseName)"
        sqlitePath = options.db ?? value("SQLITE_DB_PATH") ?? defaultDatabase
        // Under systemd, RuntimeDirectory= (kept with RuntimeDirectoryPreserve=yes) holds the snapshot.
        let defaultSnapshot = value("RUNTIME_DIRECTORY").map { "\($0.split(separator: ":").first ?? "")/faqsync.snapshot" }
            ?? "data/faqsync.snapshot"
        snapshotPath = options.snapshot ?? value("SNAPSHOT_PATH") ?? defaultSnapshot
        sheetName = value("FAQ_SHEET")

        var aliases = ColumnAliases.standard
        for field in FAQField.allCases {
            if let header = value("FAQ_COLUMN_\(field.rawValue.uppercased())") { aliases.add(header, for: field) }
        }
        self.aliases = aliases

        let inputName = value("EMBEDDING_INPUT") ?? ModelInput.questionAndAnswer.rawValue
        guard let modelInput = ModelInput(rawValue: inputName) else {
            throw ConfigurationError(key: "EMBEDDING_INPUT",
                                     message: "must be one of \(ModelInput.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")), not '\(inputName)'")
        }
        self.modelInput = modelInput

        let providerName = (value("EMBEDDING_PROVIDER") ?? "local").lowercased()
        guard let provider = Provider(rawValue: providerName) else {
            throw ConfigurationError(key: "EMBEDDING_PROVIDER",
                                     message: "must be one of \(Provider.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")), not '\(providerName)'")
        }
        let dimension = try integer("EMBEDDING_DIMENSIONS")
        let batchSize = try integer("EMBEDDING_BATCH_SIZE")
        var http: HTTPEmbedderSettings?
        if provider != .local {
            guard let model = value("EMBEDDING_MODEL") else {
                throw ConfigurationError(key: "EMBEDDING_MODEL", message: "must name the model when EMBEDDING_PROVIDER is '\(providerName)' (for example bge-m3)")
            }
            let baseURL = value("EMBEDDING_BASE_URL") ?? (provider == .ollama ? "http://127.0.0.1:11434" : "https://api.openai.com/v1")
            guard let url = URL(string: baseURL), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw ConfigurationError(key: "EMBEDDING_BASE_URL", message: "must be an http(s) URL such as http://127.0.0.1:8080/v1, not '\(baseURL)'")
            }
            let retry = RetryPolicy(maxAttempts: try integer("EMBEDDING_MAX_ATTEMPTS") ?? 6,
                                    maxTotal: .seconds(try integer("EMBEDDING_RETRY_MAX_S") ?? 60))
            http = HTTPEmbedderSettings(baseURL: baseURL, model: model, modelVersion: value("EMBEDDING_MODEL_VERSION") ?? "1",
                                        dimensions: dimension, batchSize: batchSize ?? 32,
                                        timeout: .seconds(try integer("EMBEDDING_TIMEOUT_S") ?? 30),
                                        apiKey: try Self.apiKey(environment: environment), retry: retry)
        }
        embedding = EmbeddingSettings(provider: provider,
                                      dimension: provider == .local ? (dimension ?? LocalHashingEmbedder.defaultDimension) : dimension,
                                      modelVersion: value("EMBEDDING_MODEL_VERSION"), batchSize: batchSize,
                                      maxConcurrency: try integer("EMBEDDING_MAX_CONCURRENCY") ?? (provider == .local ? 1 : 4),
                                      http: http)
    }

    /// `EMBEDDING_API_KEY`, else the file `EMBEDDING_API_KEY_FILE` names, else the systemd
    /// credential `$CREDENTIALS_DIRECTORY/embedding-api-key` (LoadCredential=).
    static func apiKey(environment: [String: String]) throws -> Secret? {
        if let key = environment["EMBEDDING_API_KEY"], !key.isEmpty { return Secret(key) }
        var file = environment["EMBEDDING_API_KEY_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        if file == nil, let credentials = environment["CREDENTIALS_DIRECTORY"] {
            let candidate = "\(credentials)/embedding-api-key"
            if FileManager.default.fileExists(atPath: candidate) { file = candidate }
        }
        guard let file else { return nil }
        guard let contents = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw ConfigurationError(key: "EMBEDDING_API_KEY_FILE", message: "names \(file), which cannot be read")
        }
        return Secret(contents.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// `DATABASE_URL`, else the `POSTGRES_*` settings; `POSTGRES_PASSWORD_FILE` (or the systemd
    /// credential `postgres-password`) keeps the password out of the environment.
    static func postgresSettings(value: (String) -> String?, integer: (String) throws -> Int?) throws -> PostgresSettings {
        let poolSize = try integer("POSTGRES_POOL_SIZE") ?? PostgresSettings.defaultPoolSize
        var settings: PostgresSettings
        if let url = value("DATABASE_URL") {
            do { settings = try PostgresSettings(url: url, poolSize: poolSize) } catch let error as PostgresSettingsError {
                throw ConfigurationError(key: "DATABASE_URL", message: error.message)
            }
        } else {
            settings = PostgresSettings(host: value("POSTGRES_HOST") ?? "127.0.0.1", port: try integer("POSTGRES_PORT") ?? 5432,
                                        database: value("POSTGRES_DATABASE") ?? "faqsync", user: value("POSTGRES_USER") ?? "postgres",
                                        sslMode: value("POSTGRES_SSLMODE"), poolSize: poolSize)
        }
        if let sslMode = value("POSTGRES_SSLMODE") { settings.sslMode = sslMode }
        if let password = value("POSTGRES_PASSWORD") {
            settings.password = PostgresPassword(password)
        } else {
            var file = value("POSTGRES_PASSWORD_FILE")
            if file == nil, let credentials = value("CREDENTIALS_DIRECTORY"),
               FileManager.default.fileExists(atPath: "\(credentials)/postgres-password") {
                file = "\(credentials)/postgres-password"
            }
            if let file {
                guard let contents = try? String(contentsOfFile: file, encoding: .utf8) else {
                    throw ConfigurationError(key: "POSTGRES_PASSWORD_FILE", message: "names \(file), which cannot be read")
                }
                settings.password = PostgresPassword(contents.trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        if let timeout = try integer("POSTGRES_CONNECT_TIMEOUT_S") { settings.connectTimeoutSeconds = timeout }
        return settings
    }

    /// The PostgreSQL settings of the environment, whatever STORAGE_BACKEND says (`store copy`).
    public static func postgresSettingsFromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PostgresSettings {
        func value(_ key: String) -> String? {
            guard let raw = environment[key]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
            return raw
        }
        return try postgresSettings(value: value, integer: { key in
            guard let raw = value(key) else { return nil }
            guard let number = Int(raw), number > 0 else {
                throw ConfigurationError(key: key, message: "must be a positive whole number, not '\(raw)'")
            }
            return number
        })
    }

    public var faqURL: URL { URL(fileURLWithPath: faqPath) }

    public func makeStore() -> any TemplateStore {
        if let postgres { return PostgresTemplateStore(settings: postgres, buildsHNSWIndex: postgresHNSW) }
        return SQLiteTemplateStore(path: sqlitePath)
    }

    public func makePublication(store: any TemplateStore) -> SnapshotPublication {
        SnapshotPublication(store: store, path: snapshotPath)
    }

    /// The configured embedder. An HTTP provider without EMBEDDING_DIMENSIONS takes the
    /// dimension from `knownDimension` (a store version or snapshot of the same model), or else
    /// from one probe request.
    public func makeEmbedder(knownDimension: Int? = nil, logger: Logger = Logger(label: "faqsync.embedding")) async throws -> any Embedder {
        switch embedding.provider {
        case .local:
            let local = LocalHashingEmbedder(dimension: embedding.dimension ?? LocalHashingEmbedder.defaultDimension,
                                             batchSize: embedding.batchSize ?? 64)
            guard let version = embedding.modelVersion else { return local }
            return RelabeledEmbedder(base: local, version: version)
        case .openai, .ollama:
            let format: any EmbeddingWireFormat = embedding.provider == .openai ? OpenAIWireFormat() : OllamaWireFormat()
            return try await HTTPEmbedder.make(settings: embedding.http!, format: format, knownDimension: knownDimension, logger: logger)
        }
    }

    /// The dimension the store already records for the configured HTTP model, to skip the probe.
    public func knownDimension(in store: any TemplateStore) async throws -> Int? {
        guard let http = embedding.http, embedding.dimension == nil, store.exists() else { return nil }
        return try await store.versions().first { $0.model.name == http.model && $0.model.version == http.modelVersion }?.model.dimension
    }

    public var source: SyncSource {
        SyncSource(faqURL: faqURL, reader: SpreadsheetReader(aliases: aliases, sheetName: sheetName), modelInput: modelInput)
    }
}

/// The local embedder under another recorded version (`EMBEDDING_MODEL_VERSION`), so a team can
/// start a fresh version on purpose; the vectors are the local embedder's.
struct RelabeledEmbedder: Embedder {
    let base: LocalHashingEmbedder
    let model: ModelIdentity
    var preferredBatchSize: Int { base.preferredBatchSize }

    init(base: LocalHashingEmbedder, version: String) {
        self.base = base
        model = ModelIdentity(name: base.model.name, version: version, dimension: base.model.dimension)
    }

    func embed(_ texts: [String]) async throws -> [[Float]] { try await base.embed(texts) }
}

public struct ConfigurationError: Error, CustomStringConvertible {
    public let key: String
    public let message: String
    public var description: String { "configuration \(key) \(message)" }
}
