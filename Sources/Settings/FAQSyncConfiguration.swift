import SystemIO
import Embedding
import EmbeddingProviders
import Foundation
import InProcessModel
import Logging
import PostgresClient
import PostgresStore
import RetrievalChecks
import Reconciliation
import SnapshotFormat
import SQLiteStore
import SpreadsheetReading
import SyncEngine
import TemplateStore

/// Settings resolved from flags, then the environment, then defaults. The environment names are
/// the original system's (`FAQ_PATH`, `STORAGE_BACKEND`, `SQLITE_DB_PATH`, `EMBEDDING_*`), so an
/// existing env file carries over. Every setting is listed with its default in `etc/faqsync.env`.
///
/// Every setting is checked here, when the configuration is built and before any command reads
/// or writes anything: numbers against their ranges, choices against their values, addresses
/// and URLs for their shape, and the model's name and version against what a snapshot header
/// holds. An empty value is unset.
package struct FAQSyncConfiguration: Sendable {
    package enum Backend: String, Sendable, CaseIterable { case sqlite, postgres }

    package var faqPath: String
    package var backend: Backend
    package var sqlitePath: String
    /// Set when the backend is postgres.
    package var postgres: PostgresSettings?
    /// `POSTGRES_HNSW=1`: keep an HNSW index on the current version for SQL searches.
    package var postgresHNSW = false
    package var snapshotPath: String
    package var sheetName: String?
    package var aliases: ColumnAliases
    package var modelInput: ModelInput
    package var embedding: EmbeddingSettings
    package var daemon: DaemonSettings
    /// `SYNC_HISTORY`: how many runs keep the list of templates they touched (default 100).
    package var syncHistory = SyncHistory.defaultRuns
    /// `CHECKS_PATH`: a CSV file of the FAQ team's checks; unset: the workbook's «Проверка» sheet.
    package var checksPath: String?
    /// `CHECKS_CUTOVER_MARGIN`: top-3 hits on the checks a new model version may lose against the
    /// current one and still become current (default 0: not worse).
    package var cutOverGate = CutOverGate()

    package enum SyncHistory {
        package static let defaultRuns = 100
        package static let range = 1...100_000
    }

    package struct EmbeddingSettings: Sendable {
        package var provider: Provider
        /// Configured dimension; for HTTP providers nil means "learn it from the first response".
        package var dimension: Int?
        package var modelVersion: String?
        package var batchSize: Int?
        package var maxConcurrency: Int
        package var http: HTTPEmbedderSettings?
        /// Set when the provider is the in-process model.
        package var inProcess: InProcessModelSettings?
    }

    /// Where the in-process model's files are (`EMBEDDING_MODEL_DIR`, `EMBEDDING_ENGINE`,
    /// `EMBEDDING_WEIGHTS`; unset: where the Debian package or scripts/install-deps.sh put them)
    /// and weights the operator vouches for (`EMBEDDING_WEIGHTS_SHA256`).
    package struct InProcessModelSettings: Sendable {
        package var directory: String?
        package var engine: String?
        package var weights: String?
        package var trustedWeights: Set<String>
        /// Where a process records that the weights passed their check, so the next need not
        /// hash them again (`EMBEDDING_WEIGHTS_RECORD_DIR`); nil: hash on every load.
        package var recordDirectory: String? = nil

        /// The record of verified weights, when there is a place for it.
        package var weightsRecord: WeightsRecord? { recordDirectory.map { WeightsRecord(directory: $0) } }
    }

    /// What `watch` (and the logging every command sets up) reads.
    package struct DaemonSettings: Sendable {
        /// `WATCH_DEBOUNCE_MS`.
        package var debounce: Duration?
        /// `METRICS_ADDRESS`: the daemon's Prometheus endpoint, none when unset.
        package var metricsAddress: ListenAddress?

        /// Milliseconds `WATCH_DEBOUNCE_MS` and `watch --debounce-ms` accept.
        package static let debounceRange = 0...600_000

        /// The debounce in effect: the command line's `--debounce-ms` over `WATCH_DEBOUNCE_MS`;
        /// nil leaves the policy's default.
        package func debounce(flagMilliseconds: Int?) -> Duration? {
            flagMilliseconds.map { .milliseconds($0) } ?? debounce
        }
    }

    /// `e5`: multilingual-e5-small in the process (the default); `local`: the model-free hashing
    /// embedder; `openai`, `ollama`: a model behind HTTP.
    package enum Provider: String, Sendable, CaseIterable { case e5, local, openai, ollama }
    enum LogLevel: String, CaseIterable { case trace, debug, info, notice, warning, error, critical }
    enum LogFormat: String, CaseIterable { case text, json }

    /// The log level, read before anything else (logging is set up before the command line is
    /// parsed): `LOG_LEVEL` when it names one; otherwise long-running commands (serve, watch) log
    /// their events (info) and one-shot commands only problems (warning). A bad value falls back
    /// here and is refused when the configuration is built.
    package static func logLevel(environment: [String: String], longRunning: Bool) -> Logger.Level {
        environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? (longRunning ? .info : .warning)
    }

    package static let defaultFAQPath = "data/faq-sample.xlsx"
    package static let defaultDatabaseName = "faqsync.db"

    /// The snapshot's default path for the SQLite store at `path`: `x.db` → `x.snapshot`, any other
    /// name with `.snapshot` added.
    package static func snapshotPath(besideStore path: String) -> String {
        path.hasSuffix(".db") ? String(path.dropLast(3)) + ".snapshot" : path + ".snapshot"
    }
    package static let defaultOpenAIURL = "https://api.openai.com/v1"
    /// Bounds that keep a typo from becoming an outage (a 10^9-dimension vector, a zero timeout).
    static let batchSizeRange = 1...2_048
    static let concurrencyRange = 1...64

    /// The flags every command shares; each one wins over its environment variable.
    package struct Flags: Sendable {
        package var faq: String?
        package var store: String?
        package var db: String?
        package var snapshot: String?

        package init(faq: String? = nil, store: String? = nil, db: String? = nil, snapshot: String? = nil) {
            self.faq = faq
            self.store = store
            self.db = db
            self.snapshot = snapshot
        }
    }

    package init(options: Flags = Flags(), environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let settings = SettingsReader(environment: environment)

        faqPath = options.faq ?? settings.string("FAQ_PATH") ?? Self.defaultFAQPath
        if let store = options.store {
            backend = try SettingsReader.choice(store, key: "--store", Backend.self)
        } else {
            backend = try settings.choice("STORAGE_BACKEND", Backend.self) ?? .sqlite
        }
        if backend == .postgres {
            postgres = try Self.postgresSettings(settings)
            postgresHNSW = try settings.boolean("POSTGRES_HNSW") ?? false
        }
        // Under systemd, StateDirectory= gives the store its home; elsewhere it lives beside the sample data.
        let defaultDatabase = settings.string("STATE_DIRECTORY").map { "\($0.split(separator: ":").first ?? "")/\(Self.defaultDatabaseName)" }
            ?? "data/\(Self.defaultDatabaseName)"
        let namedDatabase = options.db ?? settings.string("SQLITE_DB_PATH")
        sqlitePath = namedDatabase ?? defaultDatabase
        // Under systemd, RuntimeDirectory= (kept with RuntimeDirectoryPreserve=yes) holds the snapshot.
        let runtimeSnapshot = settings.string("RUNTIME_DIRECTORY").map { "\($0.split(separator: ":").first ?? "")/faqsync.snapshot" }
        // Elsewhere a snapshot belongs to its store: a store named by --db or SQLITE_DB_PATH
        // publishes beside itself (`x.db` → `x.snapshot`), so a sync of another store never
        // overwrites the snapshot the default store's readers follow.
        let besideStore = backend == .sqlite ? namedDatabase.map(Self.snapshotPath(besideStore:)) : nil
        snapshotPath = options.snapshot ?? settings.string("SNAPSHOT_PATH") ?? runtimeSnapshot ?? besideStore ?? "data/faqsync.snapshot"
        sheetName = settings.string("FAQ_SHEET")

        var aliases = ColumnAliases.standard
        for field in FAQField.allCases {
            if let header = settings.string("FAQ_COLUMN_\(field.rawValue.uppercased())") { aliases.add(header, for: field) }
        }
        self.aliases = aliases
        modelInput = try settings.choice("EMBEDDING_INPUT", ModelInput.self) ?? .questionAndAnswer
        syncHistory = try settings.integer("SYNC_HISTORY", in: SyncHistory.range, unit: " runs") ?? SyncHistory.defaultRuns
        checksPath = settings.string("CHECKS_PATH")
        cutOverGate = CutOverGate(margin: try settings.integer("CHECKS_CUTOVER_MARGIN", in: 0...CheckSheet.maxRows, unit: " checks") ?? 0)
        embedding = try Self.embeddingSettings(settings, environment: environment)
        daemon = DaemonSettings(
            debounce: try settings.integer("WATCH_DEBOUNCE_MS", in: DaemonSettings.debounceRange, unit: " milliseconds").map { .milliseconds($0) },
            metricsAddress: try settings.address("METRICS_ADDRESS"))
        // Logging was set up before the command line was parsed (it falls back to its defaults);
        // a bad value is still a configuration error, not silently ignored.
        _ = try settings.choice("LOG_LEVEL", LogLevel.self)
        _ = try settings.choice("LOG_FORMAT", LogFormat.self)
    }

    /// Where the record of verified weights goes: EMBEDDING_WEIGHTS_RECORD_DIR (`off`: nowhere),
    /// else systemd's CacheDirectory=, else the XDG cache directory, else ~/.cache. Only an
    /// absolute path counts; the XDG specification ignores a relative XDG_CACHE_HOME too.
    static func weightsRecordDirectory(_ settings: SettingsReader) throws -> String? {
        if let configured = settings.string("EMBEDDING_WEIGHTS_RECORD_DIR") {
            if configured.lowercased() == "off" { return nil }
            guard configured.hasPrefix("/") else {
                throw ConfigurationError(key: "EMBEDDING_WEIGHTS_RECORD_DIR", message: "must be an absolute path or 'off', not '\(configured.prefix(80))'")
            }
            return configured
        }
        if let cache = settings.string("CACHE_DIRECTORY"), cache.hasPrefix("/") {
            // CacheDirectory= may list several, separated by colons: the first is the unit's own.
            return String(cache.split(separator: ":").first ?? Substring(cache))
        }
        if let xdg = settings.string("XDG_CACHE_HOME"), xdg.hasPrefix("/") { return xdg + "/faqsync" }
        if let home = settings.string("HOME"), home.hasPrefix("/"), home != "/" { return home + "/.cache/faqsync" }
        return nil
    }

    static func embeddingSettings(_ settings: SettingsReader, environment: [String: String]) throws -> EmbeddingSettings {
        let provider = try settings.choice("EMBEDDING_PROVIDER", Provider.self) ?? .e5
        let dimension = try settings.integer("EMBEDDING_DIMENSIONS", in: 1...SnapshotLayout.maxDimension)
        let batchSize = try settings.integer("EMBEDDING_BATCH_SIZE", in: batchSizeRange)
        let modelVersion = try settings.text("EMBEDDING_MODEL_VERSION", maxBytes: SnapshotLayout.modelVersionCapacity - 1,
                                             why: "the snapshot header holds no more; a git SHA: use its first 12 characters")
        // The in-process providers use every core within one call; HTTP providers overlap requests.
        let maxConcurrency = try settings.integer("EMBEDDING_MAX_CONCURRENCY", in: concurrencyRange) ?? (provider == .local || provider == .e5 ? 1 : 4)
        var http: HTTPEmbedderSettings?
        var inProcess: InProcessModelSettings?
        if provider == .e5 {
            var trusted = Set<String>()
            if let hash = settings.string("EMBEDDING_WEIGHTS_SHA256") {
                let hex = hash.lowercased()
                guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
                    throw ConfigurationError(key: "EMBEDDING_WEIGHTS_SHA256", message: "must be a SHA-256 in 64 hex digits (`sha256sum FILE`)")
                }
                trusted.insert(hex)
            }
            inProcess = InProcessModelSettings(directory: settings.string("EMBEDDING_MODEL_DIR"), engine: settings.string("EMBEDDING_ENGINE"),
                                               weights: settings.string("EMBEDDING_WEIGHTS"), trustedWeights: trusted,
                                               recordDirectory: try weightsRecordDirectory(settings))
        } else if provider != .local {
            guard let model = try settings.text("EMBEDDING_MODEL", maxBytes: SnapshotLayout.modelNameCapacity - 1,
                                                why: "the snapshot header holds no more") else {
                throw ConfigurationError(key: "EMBEDDING_MODEL", message: "must name the model when EMBEDDING_PROVIDER is '\(provider.rawValue)' (for example bge-m3)")
            }
            let baseURL = try settings.httpURL("EMBEDDING_BASE_URL") ?? (provider == .ollama ? "http://127.0.0.1:11434" : defaultOpenAIURL)
            let retry = RetryPolicy(maxAttempts: try settings.integer("EMBEDDING_MAX_ATTEMPTS", in: 1...100) ?? 6,
                                    maxTotal: .seconds(try settings.integer("EMBEDDING_RETRY_MAX_S", in: 1...86_400, unit: " seconds") ?? 60))
            let apiKey = try apiKey(settings)
            // OpenAI itself always wants a key; a self-hosted OpenAI-compatible server (vLLM, TEI)
            // or Ollama often has none, and answers 401 with a clear error if it does.
            if apiKey == nil, provider == .openai, baseURL.hasPrefix(defaultOpenAIURL) {
                throw ConfigurationError(key: "EMBEDDING_API_KEY", message: "is needed for \(defaultOpenAIURL): set EMBEDDING_API_KEY or EMBEDDING_API_KEY_FILE, or under systemd put the key in /etc/credstore/faqsync.embedding-api-key (mode 0600; the units load it with LoadCredential=)")
            }
            http = HTTPEmbedderSettings(baseURL: baseURL, model: model, modelVersion: modelVersion ?? "1",
                                        dimensions: dimension, batchSize: batchSize ?? 32,
                                        timeout: .seconds(try settings.integer("EMBEDDING_TIMEOUT_S", in: 1...3_600, unit: " seconds") ?? 30),
                                        apiKey: apiKey, retry: retry, roles: try roleMarking(settings, model: model))
        }
        return EmbeddingSettings(provider: provider,
                                 dimension: provider == .local ? (dimension ?? LocalHashingEmbedder.defaultDimension) : dimension,
                                 modelVersion: modelVersion, batchSize: batchSize, maxConcurrency: maxConcurrency, http: http,
                                 inProcess: inProcess)
    }

    /// `EMBEDDING_QUERY_PREFIX`, `EMBEDDING_PASSAGE_PREFIX` and `EMBEDDING_INPUT_TYPES`
    /// (`query,passage`: the `input_type` values sent for each); with none of them set, what the
    /// model is known to need (`RoleMarking.known`).
    static func roleMarking(_ settings: SettingsReader, model: String) throws -> RoleMarking {
        let queryPrefix = try settings.untrimmed("EMBEDDING_QUERY_PREFIX", maxBytes: 256)
        let passagePrefix = try settings.untrimmed("EMBEDDING_PASSAGE_PREFIX", maxBytes: 256)
        var inputTypes: (query: String, passage: String)?
        if let types = try settings.text("EMBEDDING_INPUT_TYPES", maxBytes: 256, why: "two short names") {
            let parts = types.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ConfigurationError(key: "EMBEDDING_INPUT_TYPES", message: "must be two names, the query's and the passage's, separated by a comma (for example query,passage)")
            }
            inputTypes = (parts[0], parts[1])
        }
        if queryPrefix == nil, passagePrefix == nil, inputTypes == nil { return RoleMarking.known(forModel: model) }
        return RoleMarking(queryPrefix: queryPrefix ?? "", passagePrefix: passagePrefix ?? "", inputTypes: inputTypes)
    }

    /// `EMBEDDING_API_KEY`, else the file `EMBEDDING_API_KEY_FILE` names, else the systemd
    /// credential `$CREDENTIALS_DIRECTORY/embedding-api-key` (LoadCredential=).
    static func apiKey(_ settings: SettingsReader) throws -> Secret? {
        try secret(settings, key: "EMBEDDING_API_KEY", credential: "embedding-api-key").map(Secret.init)
    }

    /// `SERVE_TOKEN`, else the file `SERVE_TOKEN_FILE` names, else the systemd credential
    /// `serve-token`: what the FAQ team's page asks for when `serve` listens beyond loopback.
    package static func serveToken(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        let settings = SettingsReader(environment: environment)
        guard let token = try secret(settings, key: "SERVE_TOKEN", credential: "serve-token") else { return nil }
        guard token.utf8.count >= 16, token.utf8.count <= 4_096 else {
            throw ConfigurationError(key: "SERVE_TOKEN", message: "must be 16 to 4096 bytes long (for example `openssl rand -hex 32`), not \(token.utf8.count)")
        }
        return token
    }

    /// A secret from `key`, else the file `key_FILE` names, else `$CREDENTIALS_DIRECTORY/credential`
    /// (systemd's LoadCredential=), trimmed; nil when none is set or it is empty.
    static func secret(_ settings: SettingsReader, key: String, credential: String) throws -> String? {
        if let value = settings.environment[key], !value.isEmpty { return value }
        var file = settings.string("\(key)_FILE")
        if file == nil, let credentials = settings.string("CREDENTIALS_DIRECTORY") {
            let candidate = "\(credentials)/\(credential)"
            if FileManager.default.fileExists(atPath: candidate) { file = candidate }
        }
        guard let file else { return nil }
        // A secret is short; a FIFO or a huge file here must not hang or exhaust the process.
        let contents: String
        do {
            contents = String(decoding: try RegularFile.contents(of: file, maximumBytes: 64 * 1024), as: UTF8.self)
        } catch {
            throw ConfigurationError(key: "\(key)_FILE", message: "names \(file), which cannot be read: \(error)")
        }
        let value = contents.trimmingCharacters(in: .whitespacesAndNewlines)
        return value.isEmpty ? nil : value
    }

    /// `DATABASE_URL`, else the `POSTGRES_*` settings; `POSTGRES_PASSWORD_FILE` (or the systemd
    /// credential `postgres-password`) keeps the password out of the environment.
    static func postgresSettings(_ settings: SettingsReader) throws -> PostgresSettings {
        let poolSize = try settings.integer("POSTGRES_POOL_SIZE", in: 1...100) ?? PostgresSettings.defaultPoolSize
        let sslMode = try settings.choice("POSTGRES_SSLMODE", PostgresSSLMode.self)?.rawValue
        var result: PostgresSettings
        // POSTGRES_DSN: the original Python system's name for the same thing (docs/migrating.md).
        let urlKey = settings.string("DATABASE_URL") == nil && settings.string("POSTGRES_DSN") != nil ? "POSTGRES_DSN" : "DATABASE_URL"
        if let url = settings.string(urlKey) {
            do { result = try PostgresSettings(url: url, poolSize: poolSize) } catch let error as PostgresSettingsError {
                throw ConfigurationError(key: urlKey, message: error.message)
            }
        } else {
            result = PostgresSettings(host: settings.string("POSTGRES_HOST") ?? "127.0.0.1",
                                      port: try settings.integer("POSTGRES_PORT", in: 1...65_535) ?? 5432,
                                      database: settings.string("POSTGRES_DATABASE") ?? "faqsync",
                                      user: settings.string("POSTGRES_USER") ?? "postgres",
                                      sslMode: sslMode, poolSize: poolSize)
        }
        if let sslMode { result.sslMode = sslMode }
        if let password = try secret(settings, key: "POSTGRES_PASSWORD", credential: "postgres-password") {
            result.password = PostgresPassword(password)
        }
        if let timeout = try settings.integer("POSTGRES_CONNECT_TIMEOUT_S", in: 1...3_600, unit: " seconds") {
            result.connectTimeoutSeconds = timeout
        }
        return result
    }

    /// The PostgreSQL settings of the environment, whatever STORAGE_BACKEND says (`store copy`).
    package static func postgresSettingsFromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PostgresSettings {
        try postgresSettings(SettingsReader(environment: environment))
    }

    package var faqURL: URL { URL(fileURLWithPath: faqPath) }

    /// The configured store. The one place that knows both backends.
    package func makeStore() -> any TemplateStore {
        if let postgres { return PostgresTemplateStore(settings: postgres, buildsHNSWIndex: postgresHNSW) }
        return SQLiteTemplateStore(path: sqlitePath)
    }

    /// The store's change feed, for a follower on another host: PostgreSQL only.
    package func makeChangeFeed() throws -> any ChangeFeed {
        guard let postgres else {
            throw ConfigurationError(key: "STORAGE_BACKEND", message: "must be 'postgres' to follow a store from another host (the SQLite store's writer publishes the snapshot itself)")
        }
        return PostgresTemplateStore(settings: postgres, buildsHNSWIndex: postgresHNSW)
    }

    /// The one path of a sync, for this configuration's store, embedder, spreadsheet and snapshot.
    /// - Parameter syncsRepeatedly: true for the daemon, which keeps the last sheet's templates
    ///   and the last published snapshot so that a save costs what changed in it.
    package func makeCoordinator(store: any TemplateStore, embedder: (any Embedder)?, logger: Logger,
                                 syncsRepeatedly: Bool = false) -> SyncCoordinator {
        SyncCoordinator(store: store, embedder: embedder, snapshotPath: snapshotPath, source: source, logger: logger,
                        gate: cutOverGate, queryEmbedder: queryEmbedderFactory(configured: embedder),
                        syncsRepeatedly: syncsRepeatedly)
    }

    /// An embedder for a stored version's model, to embed the checks' questions for it: the
    /// configured one when it is that model, else the local embedder or the installed in-process
    /// model when the version is theirs; nil for a model this machine cannot run (an HTTP model
    /// no longer configured).
    package func queryEmbedderFactory(configured: (any Embedder)?) -> QueryEmbedderFactory {
        let embedding = self.embedding
        return { model in
            if let configured, configured.model == model { return configured }
            switch model.name {
            case LocalHashingEmbedder.modelName:
                // Only versions of today's features: another version string with them is a
                // deliberate EMBEDDING_MODEL_VERSION; version "1" had other features.
                guard model.version == LocalHashingEmbedder.modelVersion
                        || (embedding.provider == .local && embedding.modelVersion == model.version) else { return nil }
                return LocalHashingEmbedder(dimension: model.dimension, version: model.version)
            case MultilingualE5Embedder.modelName:
                let settings = embedding.inProcess ?? InProcessModelSettings(trustedWeights: [])
                guard let engine = try? await BlockingExecutor.shared.run({
                    try E5Engine(files: try ModelFiles.locate(engine: settings.engine, weights: settings.weights, directory: settings.directory),
                                 trustedWeights: settings.trustedWeights, record: settings.weightsRecord)
                }) else { return nil }
                let embedder = MultilingualE5Embedder(engine: engine)
                return embedder.model == model ? embedder : nil
            default:
                return nil
            }
        }
    }

    /// The configured embedder. An HTTP provider without EMBEDDING_DIMENSIONS takes the
    /// dimension from `knownDimension` (a store version or snapshot of the same model), or else
    /// from one probe request.
    package func makeEmbedder(knownDimension: Int? = nil, logger: Logger = Logger(label: "faqsync.embedding")) async throws -> any Embedder {
        switch (embedding.provider, embedding.http) {
        case (.e5, _):
            let settings = embedding.inProcess ?? InProcessModelSettings(trustedWeights: [])
            let engine = try await BlockingExecutor.shared.run {
                let files = try ModelFiles.locate(engine: settings.engine, weights: settings.weights, directory: settings.directory)
                return try E5Engine(files: files, trustedWeights: settings.trustedWeights, record: settings.weightsRecord)
            }
            return MultilingualE5Embedder(engine: engine, batchSize: embedding.batchSize ?? 32)
        case (.local, _), (_, nil):
            return LocalHashingEmbedder(dimension: embedding.dimension ?? LocalHashingEmbedder.defaultDimension,
                                        batchSize: embedding.batchSize ?? 64,
                                        version: embedding.modelVersion ?? LocalHashingEmbedder.modelVersion)
        case (.openai, let http?), (.ollama, let http?):
            let format: any EmbeddingWireFormat = embedding.provider == .openai ? OpenAIWireFormat() : OllamaWireFormat()
            return try await HTTPEmbedder.make(settings: http, format: format, knownDimension: knownDimension, logger: logger)
        }
    }

    /// The dimension the store already records for the configured HTTP model, to skip the probe.
    package func knownDimension(in store: any TemplateStore) async throws -> Int? {
        guard let http = embedding.http, embedding.dimension == nil, store.exists() else { return nil }
        return try await store.versions().first { $0.model.name == http.model && $0.model.version == http.modelVersion }?.model.dimension
    }

    package var source: SyncSource {
        SyncSource(faqURL: faqURL, reader: SpreadsheetReader(aliases: aliases, sheetName: sheetName), modelInput: modelInput,
                   checks: checksPath.map { .file(URL(fileURLWithPath: $0)) } ?? .workbookSheet)
    }
}

/// libpq's sslmode values.
enum PostgresSSLMode: String, CaseIterable {
    case disable, allow, prefer, require, verifyCA = "verify-ca", verifyFull = "verify-full"
}
