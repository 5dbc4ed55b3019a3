import Embedding
import Foundation
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
    public var snapshotPath: String
    public var sheetName: String?
    public var aliases: ColumnAliases
    public var modelInput: ModelInput
    public var embedding: EmbeddingSettings

    public struct EmbeddingSettings: Sendable {
        public var provider: String
        public var dimension: Int
        public var modelVersion: String?
        public var batchSize: Int?
    }

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
        let backendName = (value("STORAGE_BACKEND") ?? "sqlite").lowercased()
        guard let backend = Backend(rawValue: backendName) else {
            throw ConfigurationError(key: "STORAGE_BACKEND", message: "must be 'sqlite' or 'postgres', not '\(backendName)'")
        }
        guard backend == .sqlite else {
            throw ConfigurationError(key: "STORAGE_BACKEND",
                                     message: "'postgres' is not available in this build yet; use 'sqlite' (the default)")
        }
        self.backend = backend
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

        let provider = (value("EMBEDDING_PROVIDER") ?? "local").lowercased()
        guard provider == "local" else {
            throw ConfigurationError(key: "EMBEDDING_PROVIDER",
                                     message: "'\(provider)' is not available in this build yet; use 'local' (the default, no network)")
        }
        embedding = EmbeddingSettings(provider: provider,
                                      dimension: try integer("EMBEDDING_DIMENSIONS") ?? LocalHashingEmbedder.defaultDimension,
                                      modelVersion: value("EMBEDDING_MODEL_VERSION"),
                                      batchSize: try integer("EMBEDDING_BATCH_SIZE"))
    }

    public var faqURL: URL { URL(fileURLWithPath: faqPath) }

    public func makeStore() -> any TemplateStore {
        SQLiteTemplateStore(path: sqlitePath)
    }

    public func makePublication(store: any TemplateStore) -> SnapshotPublication {
        SnapshotPublication(store: store, path: snapshotPath)
    }

    public func makeEmbedder() -> any Embedder {
        let local = LocalHashingEmbedder(dimension: embedding.dimension, batchSize: embedding.batchSize ?? 64)
        guard let version = embedding.modelVersion else { return local }
        return RelabeledEmbedder(base: local, version: version)
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
