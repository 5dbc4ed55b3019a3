import Embedding
import Reconciliation

/// Durable storage of model versions, their templates and vectors, the embedding cache and the
/// sync audit log. Implementations: `SQLiteTemplateStore` and `PostgresTemplateStore`.
///
/// Contract: `apply` is atomic (all of a sync or nothing, readers see the old current version
/// until it commits); cache writes are independent of `apply`, because a vector once paid for is
/// worth keeping even when the sync that asked for it fails.
public protocol TemplateStore: Sendable {
    /// Where the store lives, safe to print (no secrets).
    var location: String { get }
    /// False when nothing has been stored yet (no file, no schema).
    func exists() -> Bool

    func versions() async throws -> [StoredVersion]
    func templateStates(versionID: Int64) async throws -> [String: StoredTemplateState]
    func templates(versionID: Int64) async throws -> [StoredTemplate]

    func cachedVectors(model: ModelIdentity, inputHashes: [String]) async throws -> [String: [Float]]
    func cache(model: ModelIdentity, vectors: [(inputHash: String, vector: [Float])]) async throws

    func apply(_ changes: StoreChanges) async throws -> AppliedChanges
    func setCurrentVersion(_ id: Int64) async throws -> StoredVersion
    func removeNonCurrentVersions() async throws -> CleanReport

    /// Records a sync that failed; a no-op when the store does not exist yet.
    func record(failedRun: SyncRunRecord) async throws
    func recentRuns(limit: Int) async throws -> [SyncRunRecord]
    func checkIntegrity() async throws -> IntegrityReport

    /// The quarantined templates of the version holding `model` (empty when there is none).
    func quarantine(model: ModelIdentity) async throws -> [QuarantinedTemplate]

    func lastSnapshotPublication() async throws -> SnapshotPublicationRecord?
    func record(snapshotPublication: SnapshotPublicationRecord) async throws

    /// Runs `body` (a whole sync: plan, embed, apply, publish) as the store's only writer;
    /// another process's sync waits until this one is done, so two never plan from the same state.
    func exclusively<T: Sendable>(_ body: () async throws -> T) async throws -> T
}

extension TemplateStore {
    public func currentVersion() async throws -> StoredVersion? {
        try await versions().first(where: \.isCurrent)
    }

    public func version(for model: ModelIdentity) async throws -> StoredVersion? {
        try await versions().first(where: { $0.model == model })
    }
}

/// A store operation that failed, with the store's location and what to do.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case newerSchema = "newer-schema"
        case notADatabase = "not-a-database"
        case openFailed = "open-failed"
        case versionNotFound = "version-not-found"
        case invalidVector = "invalid-vector"
        case writeFailed = "write-failed"
        case readFailed = "read-failed"
        case connectionFailed = "connection-failed"
        /// The database refused the change or the query for a reason that retrying the same
        /// change cannot fix (a constraint, the data, a missing privilege).
        case rejected
        /// Text the store cannot hold (a NUL character).
        case invalidText = "invalid-text"
    }

    public let code: Code
    public let location: String
    public let message: String
    public let cause: String?

    public init(code: Code, location: String, message: String, cause: String? = nil) {
        self.code = code
        self.location = location
        self.message = message
        self.cause = cause
    }

    public var description: String {
        "store \(location): \(message)" + (cause.map { " (\($0))" } ?? "")
    }

    /// Worth retrying unchanged (with backoff): the database was unreachable, busy, full or
    /// failed on I/O. Every other code fails the same way again until something is changed.
    public var isTransient: Bool {
        [.connectionFailed, .writeFailed, .readFailed, .openFailed].contains(code)
    }
}
