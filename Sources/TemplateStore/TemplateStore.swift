import CodedErrors
import Embedding
import Reconciliation

/// Durable storage of model versions, their templates and vectors, the embedding cache and the
/// sync audit log. Implementations: `SQLiteTemplateStore` (SQLiteStore) and
/// `PostgresTemplateStore` (PostgresStore); one conformance suite (Tests/StoreConformance) runs
/// on both.
///
/// Contract: `apply` is atomic (all of a sync or nothing, readers see the old current version
/// until it commits) and moves the store's generation on; cache writes are independent of
/// `apply`, because a vector once paid for is worth keeping even when the sync that asked for it
/// fails, and a vector cached again for the same text replaces the old one (`--force`).
package protocol TemplateStore: Sendable {
    /// Where the store lives, safe to print (no secrets).
    var location: String { get }
    /// False when the store certainly holds nothing yet (a SQLite file that is not there); a
    /// server database answers true and is empty until a sync writes to it.
    func exists() -> Bool

    func versions() async throws -> [StoredVersion]
    func templateStates(versionID: Int64) async throws -> [String: StoredTemplateState]
    func templates(versionID: Int64) async throws -> [StoredTemplate]

    func cachedVectors(model: ModelIdentity, inputHashes: [String]) async throws -> [String: [Float]]
    func cache(model: ModelIdentity, vectors: [(inputHash: String, vector: [Float])]) async throws

    func apply(_ changes: StoreChanges) async throws -> AppliedChanges
    func setCurrentVersion(_ id: Int64) async throws -> StoredVersion
    func removeNonCurrentVersions() async throws -> CleanReport

    /// A counter every committed change of templates or of the current version moves on: what
    /// a snapshot was built from, and how a reader tells it is stale.
    func generation() async throws -> Int64

    /// Records a sync that failed; a no-op when the store does not exist yet.
    func record(failedRun: SyncRunRecord) async throws
    /// The newest `limit` runs, newest first, each with the first `changesPerRun` entries of its
    /// change log (0: none). Its counts stay whole. A no-op sync needs only the last run's
    /// outcome, and the activity document lists 200 changes per run, not an initial sync's 100,000.
    func recentRuns(limit: Int, changesPerRun: Int) async throws -> [SyncRunRecord]
    func checkIntegrity() async throws -> IntegrityReport

    /// The quarantined templates of the version holding `model` (empty when there is none).
    func quarantine(model: ModelIdentity) async throws -> [QuarantinedTemplate]

    func lastSnapshotPublication() async throws -> PublishedSnapshot?
    func record(snapshotPublication: PublishedSnapshot) async throws

    /// Runs `body` (a whole sync: plan, embed, apply, publish) as the store's only writer;
    /// another process's sync waits until this one is done, so two never plan from the same state.
    func exclusively<T: Sendable>(_ body: () async throws -> T) async throws -> T
    /// Releases what the store opened (SQLite's connections, PostgreSQL's pool and lock session).
    /// The store may not be used afterwards. Commands call it when they end, the daemon when its
    /// service group has shut down, so shutdown closes what start opened.
    func close() async
    /// Refuses, without creating or changing anything, a store this faqsync must not touch (a
    /// file that is not a database file, the original system's store), so a command can stop
    /// before it writes anything beside it. Stores that live on a server have nothing to check.
    func refuseForeignStore() throws
}

extension TemplateStore {
    package func refuseForeignStore() throws {}

    /// Runs `body`, then closes the store, whether `body` succeeded or not.
    package func closingAfterwards<T>(_ body: () async throws -> T) async throws -> T {
        let result: T
        do { result = try await body() } catch {
            await close()
            throw error
        }
        await close()
        return result
    }

    package func currentVersion() async throws -> StoredVersion? {
        try await versions().first(where: \.isCurrent)
    }

    package func version(for model: ModelIdentity) async throws -> StoredVersion? {
        try await versions().first(where: { $0.model == model })
    }
}

/// A store operation that failed, with the store's location and what to do.
package struct StoreError: Error, CustomStringConvertible, Sendable {
    package enum Code: String, Sendable {
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
        /// The file is the original Python system's store, not faqsync's.
        case legacyStore = "legacy-store"
    }

    package let code: Code
    package let location: String
    package let message: String
    /// What to do about it.
    package let hint: String?
    /// What the database, the file system or the driver said.
    package let underlyingError: (any Error & Sendable)?

    package init(code: Code, location: String, message: String, hint: String? = nil, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.location = location
        self.message = message
        self.hint = hint
        self.underlyingError = underlying
    }

    /// Whole, for logs and the activity document as much as for the terminal: the hint included.
    package var description: String {
        "store \(location): \(message)" + (underlyingError.map { " (\($0))" } ?? "") + (hint.map { "; \($0)" } ?? "")
    }

    /// Worth retrying unchanged (with backoff): the database was unreachable, busy, full or
    /// failed on I/O. Every other code fails the same way again until something is changed.
    package var isTransient: Bool {
        [.connectionFailed, .writeFailed, .readFailed, .openFailed].contains(code)
    }

    /// How a database call failed, as each backend classifies its own errors.
    package enum DatabaseFailure: Sendable {
        /// The server could not be reached (PostgreSQL) at this endpoint.
        case unreachable(endpoint: String)
        /// The connection went away during the call.
        case connectionLost(endpoint: String)
        /// Busy, locked, full, an I/O error: may pass.
        case transient
        /// A constraint, the data, a privilege: fails the same way every time.
        case refused
    }

    /// The one mapping from a backend's failed call to a `StoreError`, so both backends word and
    /// classify failures alike.
    package static func database(_ failure: DatabaseFailure, writing: Bool, location: String, underlying: any Error & Sendable) -> StoreError {
        switch failure {
        case .unreachable(let endpoint):
            StoreError(code: .connectionFailed, location: location, message: "cannot reach the database at \(endpoint)",
                       hint: "check that the server runs and accepts connections, then retry", underlying: underlying)
        case .connectionLost(let endpoint):
            StoreError(code: .connectionFailed, location: location,
                       message: "lost the connection to the database at \(endpoint)\(writing ? "; the transaction was rolled back" : "")",
                       hint: "check that the server runs and accepts connections, then retry", underlying: underlying)
        case .transient:
            StoreError(code: writing ? .writeFailed : .readFailed, location: location,
                       message: writing ? "the transaction was rolled back" : "a read failed", underlying: underlying)
        case .refused:
            StoreError(code: .rejected, location: location,
                       message: writing ? "the database refused the change; the transaction was rolled back" : "the database refused a query",
                       underlying: underlying)
        }
    }
}

extension StoreError: CodedError {
    package var errorCode: String { code.rawValue }
    package var underlying: (any Error)? { underlyingError }
}

extension TemplateStore {
    /// The newest `limit` runs with their whole change logs.
    package func recentRuns(limit: Int) async throws -> [SyncRunRecord] {
        try await recentRuns(limit: limit, changesPerRun: Int(Int32.max))
    }
}
