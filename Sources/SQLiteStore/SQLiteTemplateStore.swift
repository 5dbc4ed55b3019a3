import CodedErrors
import Embedding
import Foundation
import SystemIO
import GRDB
import PathNames
import Reconciliation
import Synchronization
import TemplateStore

/// The default store: one SQLite file in WAL mode, accessed through a GRDB `DatabasePool`.
///
/// GRDB runs every sqlite3 call on its own serial queues, so the async methods here never block
/// the cooperative thread pool. The file is opened lazily, on the first call that needs it, so
/// a sync that fails before touching the store (a bad spreadsheet) does not create one.
package final class SQLiteTemplateStore: TemplateStore {
    package let path: String
    package var location: String { path }
    private let pool = Mutex<DatabasePool?>(nil)
    /// Set once `refuseForeignStore` passed: the lock, the first open and the command ask it in
    /// turn, and the file is looked at once.
    private let foreignStoreChecked = Mutex(false)

    package init(path: String) {
        self.path = path
    }

    package func exists() -> Bool {
        FileManager.default.fileExists(atPath: path)
    }

    /// An flock on `<store>.sync-lock` beside the database (SQLite's own locks are fcntl locks
    /// on the database file, held only per transaction). Polled with LOCK_NB so that waiting
    /// never blocks a thread and a shutdown can cancel it; the kernel releases it when the
    /// holder dies.
    package func exclusively<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        // The original system's store is refused before the lock file is created beside it.
        try refuseForeignStore()
        let lockPath = path + ".sync-lock"
        let directory = PathName.directory(of: path)
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let descriptor = Glibc.open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StoreError(code: .openFailed, location: path, message: "the sync lock \(lockPath) could not be opened",
                             underlying: SystemCallError(call: "open", errno: errno, subject: lockPath))
        }
        defer { SystemCall.close(descriptor) }
        let location = path
        return try await WriterLock.exclusively(pollInterval: .milliseconds(100), tryAcquire: {
            if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return true }
            guard errno == EWOULDBLOCK || errno == EINTR else {
                throw StoreError(code: .openFailed, location: location, message: "the sync lock \(lockPath) could not be taken",
                                 underlying: SystemCallError(call: "flock", errno: errno, subject: lockPath))
            }
            return false
        }, release: { flock(descriptor, LOCK_UN) }, body)
    }

    // MARK: Backup

    /// A consistent copy of the store while writers go on (SQLite's online backup API): written
    /// to a temporary file beside `destination` (mode 0600), checked, switched out of WAL mode so
    /// it is one self-contained file, fsynced and renamed into place. An existing file is never
    /// overwritten.
    package func backup(to destination: String) async throws -> StoreBackup {
        guard exists() else {
            throw StoreError(code: .openFailed, location: path, message: "there is no store here to back up")
        }
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw StoreError(code: .writeFailed, location: destination, message: "the backup file exists already",
                             hint: "choose a new path; a backup never overwrites a file")
        }
        let source = try database()
        let location = path
        // SQLite's backup blocks its thread for the whole copy: the executor's, not the pool's.
        return try await BlockingExecutor.shared.run { try Self.backup(source, location: location, to: destination) }
    }

    /// The copy goes through `AtomicFile` (temporary file 0600, fsync, no-clobber link into place,
    /// directory fsync, every result checked); SQLite writes the temporary file by its path.
    private static func backup(_ source: DatabasePool, location: String, to destination: String) throws -> StoreBackup {
        var summary: (versions: Int, templates: Int) = (0, 0)
        do {
            try AtomicFile(path: destination, mode: 0o600).replace(replacing: false) { _, temporary in
                let copy = try DatabaseQueue(path: temporary, configuration: .faqsync())
                try source.backup(to: copy, pagesPerStep: 4_096)
                let result = try copy.writeWithoutTransaction { db -> (Int, Int, [String]) in
                    _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = DELETE")
                    let check = try String.fetchAll(db, sql: "PRAGMA quick_check")
                    let versions = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM embedding_versions") ?? 0
                    let templates = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM templates") ?? 0
                    return (versions, templates, check)
                }
                try copy.close()
                guard result.2 == ["ok"] else {
                    throw StoreError(code: .writeFailed, location: destination, message: "the copy fails SQLite's quick_check: \(result.2.prefix(3).joined(separator: "; "))")
                }
                summary = (result.0, result.1)
            }
        } catch let error as StoreError {
            throw error
        } catch let failure as AtomicFile.Failure where failure.errno == EEXIST {
            throw StoreError(code: .writeFailed, location: destination, message: "the backup file exists already",
                             hint: "choose a new path; a backup never overwrites a file")
        } catch {
            throw StoreError(code: .writeFailed, location: destination, message: "the backup failed", underlying: CapturedError(error))
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: destination)[.size] as? Int) ?? 0
        return StoreBackup(source: location, path: destination, bytes: size ?? 0, versions: summary.versions, templates: summary.templates)
    }

    // MARK: Opening

    /// The pool, opening the file and migrating the schema on first use.
    package func close() async {
        let opened = pool.withLock { pool -> DatabasePool? in defer { pool = nil }; return pool }
        // A pool that fails to close (a statement still running) is released by ARC anyway.
        try? opened?.close()
    }

    func database() throws -> DatabasePool {
        try pool.withLock { existing in
            if let existing { return existing }
            let opened = try open()
            existing = opened
            return opened
        }
    }

    private func open() throws -> DatabasePool {
        try refuseForeignFile()
        try createPrivateFileIfMissing()
        let migrator = SQLiteSchema.migrator
        // Checked through a read-only connection first: opening a pool writes to the file
        // (GRDB creates and drops a table to initialise the WAL), and a store from a newer
        // faqsync must not be touched at all.
        try refuseNewerSchema(migrator)
        var configuration = Configuration.faqsync()
        configuration.busyMode = .timeout(30)
        configuration.foreignKeysEnabled = true
        configuration.label = "faqsync"
        configuration.prepareDatabase { db in
            // Vectors make rows of ~4 KB; SQLite's default 2 MB page cache turns a large sync into
            // a stream of re-reads. 64 MB is a ceiling, not an allocation.
            try db.execute(sql: "PRAGMA cache_size = -65536")
        }
        let database: DatabasePool
        do {
            database = try DatabasePool(path: path, configuration: configuration)
            try migrator.migrate(database)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw notADatabase()
        } catch {
            throw StoreError(code: .openFailed, location: path, message: "the database could not be opened or migrated", underlying: CapturedError(error))
        }
        return database
    }

    /// Refuses what is at the path when it is not a regular file (SQLite would wait for ever in
    /// `read` on a FIFO) or when it is the original Python system's store, without touching
    /// anything: the file's type comes from `stat`, then it is read as immutable (no lock, no
    /// `-wal`/`-shm` created beside it, even for a WAL-mode file), before anything else opens it.
    /// A missing file or one that is not SQLite passes: opening the store says what is wrong.
    package func refuseForeignStore() throws {
        // Never once this process has the database open: the open checked it.
        guard pool.withLock({ $0 == nil }) else { return }
        try refuseForeignFile()
    }

    /// `refuseForeignStore` without looking at the pool: for `open()`, which holds its lock.
    private func refuseForeignFile() throws {
        guard !foreignStoreChecked.withLock({ $0 }) else { return }
        // `stat`, never `open` + `close`: closing any descriptor on the database file drops every
        // POSIX lock this process holds on it, SQLite's included (a test caught the daemon's
        // later commits going to a WAL another process had already checkpointed and removed).
        var status = stat()
        guard stat(path, &status) == 0 else {
            if errno == ENOENT { return }
            throw StoreError(code: .openFailed, location: path, message: "the store cannot be opened",
                             underlying: SystemCallError(call: "stat", errno: errno, subject: path))
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw StoreError(code: .openFailed, location: path,
                             message: "the store cannot be opened: \(path) is \(RegularFile.describe(status.st_mode)), not a regular file",
                             hint: "point SQLITE_DB_PATH or --db at the faqsync store's file, or at a path that does not exist yet")
        }
        var configuration = Configuration()
        configuration.readonly = true
        // Debian's SQLite understands URI file names (SQLITE_USE_URI); `immutable=1` makes it
        // take no locks and never look for or create the WAL's files.
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let encoded = absolute.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "?#%"))) ?? absolute
        let isLegacy: Bool
        do {
            let queue = try DatabaseQueue(path: "file:\(encoded)?mode=ro&immutable=1", configuration: configuration)
            defer { try? queue.close() }
            isLegacy = try queue.read { db in try !db.tableExists("grdb_migrations") && db.tableExists("embedding_records") }
        } catch {
            return
        }
        if isLegacy { throw Self.legacyStoreError(path) }
        foreignStoreChecked.withLock { $0 = true }
    }

    static func legacyStoreError(_ path: String) -> StoreError {
        StoreError(
            code: .legacyStore, location: path,
            message: "this is the original Python system's store (embeddings.db), not a faqsync store; it was left untouched",
            hint: "import its vectors with `faqsync import-legacy \(path)` and point SQLITE_DB_PATH or --db at a new file (default data/faqsync.db); see docs/migrating.md")
    }

    private func refuseNewerSchema(_ migrator: DatabaseMigrator) throws {
        var configuration = Configuration.faqsync()
        configuration.readonly = true
        configuration.busyMode = .timeout(30)
        let applied: Set<String>
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            applied = try queue.read { db in
                try db.tableExists("grdb_migrations") ? try migrator.appliedIdentifiers(db) : []
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw notADatabase()
        } catch {
            throw StoreError(code: .openFailed, location: path, message: "the database could not be opened", underlying: CapturedError(error))
        }
        let unknown = applied.subtracting(migrator.migrations)
        guard unknown.isEmpty else {
            throw StoreError(
                code: .newerSchema, location: path,
                message: "the store was written by a newer faqsync (schema migrations \(unknown.sorted().joined(separator: ", ")) are unknown to this version)",
                hint: "upgrade faqsync, or point --db at another file; this version will not modify it")
        }
    }

    private func notADatabase() -> StoreError {
        StoreError(code: .notADatabase, location: path, message: "the file is not an SQLite database",
                   hint: "point SQLITE_DB_PATH or --db at the faqsync store, or at a path that does not exist yet")
    }

    /// The store holds the FAQ's content: readable by its owner only (mode 0600), like SQLite's
    /// -wal and -shm files, which inherit the database file's mode.
    private func createPrivateFileIfMissing() throws {
        guard !FileManager.default.fileExists(atPath: path) else { return }
        let directory = PathName.directory(of: path)
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let descriptor = Glibc.open(path, O_CREAT | O_WRONLY | O_EXCL | O_CLOEXEC, 0o600)
        if descriptor < 0, errno != EEXIST {
            throw StoreError(code: .openFailed, location: path, message: "the database file could not be created",
                             underlying: SystemCallError(call: "open", errno: errno, subject: path))
        }
        if descriptor >= 0 { SystemCall.close(descriptor) }
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let database = try database()
        do { return try await database.read(body) } catch let error as StoreError { throw error } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw storeError(error, code: .readFailed, message: "a read failed")
        }
    }

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let database = try database()
        do { return try await database.write(body) } catch let error as StoreError { throw error } catch is CancellationError {
            // Cancelled (shutdown): the transaction rolled back; say so as cancellation, not failure.
            throw CancellationError()
        } catch {
            throw storeError(error, code: .writeFailed, message: "the transaction was rolled back")
        }
    }

    /// SQLite's busy, locked, full-disk and I/O errors may pass; a constraint, a type mismatch,
    /// a read-only or corrupt file will not, and are reported as `.rejected`.
    private func storeError(_ error: any Error, code: StoreError.Code, message: String) -> StoreError {
        let transient: [ResultCode] = [.SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_FULL, .SQLITE_IOERR, .SQLITE_CANTOPEN,
                                          .SQLITE_NOMEM, .SQLITE_PROTOCOL, .SQLITE_INTERRUPT]
        let refused = (error as? DatabaseError).map { !transient.contains($0.resultCode.primaryResultCode) } ?? false
        return StoreError.database(refused ? .refused : .transient, writing: code == .writeFailed, location: path, underlying: CapturedError(error))
    }

    // MARK: Reading

    package func versions() async throws -> [StoredVersion] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT v.id, v.model_name, v.model_version, v.dimension, v.is_current, v.created_at, v.hybrid_dense_weight,
                       v.template_count
                FROM embedding_versions v ORDER BY v.id
                """).map(Self.version(from:))
        }
    }

    package func templateStates(versionID: Int64) async throws -> [String: StoredTemplateState] {
        try await read { db in
            var states: [String: StoredTemplateState] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT template_id, input_hash, content_hash FROM templates WHERE version_id = ?",
                                           arguments: [versionID])
            while let row = try rows.next() {
                states[row[0]] = StoredTemplateState(inputHash: row[1], contentHash: row[2])
            }
            return states
        }
    }

    package func templates(versionID: Int64) async throws -> [StoredTemplate] {
        try await read { db in
            guard let dimension = try Int.fetchOne(db, sql: "SELECT dimension FROM embedding_versions WHERE id = ?", arguments: [versionID]) else {
                return []
            }
            var result: [StoredTemplate] = []
            let rows = try Row.fetchCursor(db, sql: """
                SELECT template_id, category, subcategory, question, answer, metadata, input_hash, content_hash, vector
                FROM templates WHERE version_id = ? ORDER BY template_id
                """, arguments: [versionID])
            while let row = try rows.next() {
                let blob: Data = row[8]
                guard let vector = VectorCoding.decode(blob, dimension: dimension) else {
                    throw StoreError(code: .invalidVector, location: self.path,
                                     message: "template \(row[0] as String) has a vector of \(blob.count) bytes, expected \(dimension * 4)")
                }
                result.append(StoredTemplate(
                    id: row[0], category: row[1], subcategory: row[2], question: row[3], answer: row[4],
                    metadataJSON: row[5], inputHash: row[6], contentHash: row[7], vector: vector))
            }
            return result
        }
    }

    // MARK: Embedding cache

    package func cachedVectors(model: ModelIdentity, inputHashes: [String]) async throws -> [String: [Float]] {
        guard !inputHashes.isEmpty else { return [:] }
        return try await read { db in
            var found: [String: [Float]] = [:]
            let statement = try db.cachedStatement(sql: """
                SELECT vector FROM embedding_cache
                WHERE model_name = ? AND model_version = ? AND dimension = ? AND text_hash = ?
                """)
            for hash in inputHashes {
                if let blob = try Data.fetchOne(statement, arguments: [model.name, model.version, model.dimension, hash]),
                   let vector = VectorCoding.decode(blob, dimension: model.dimension) {
                    found[hash] = vector
                }
            }
            return found
        }
    }

    package func cache(model: ModelIdentity, vectors: [(inputHash: String, vector: [Float])]) async throws {
        guard !vectors.isEmpty else { return }
        let encoded = try vectors.map { entry -> (String, Data) in
            guard entry.vector.count == model.dimension else {
                throw StoreError(code: .invalidVector, location: path,
                                 message: "refusing to cache a vector of \(entry.vector.count) values for \(model)")
            }
            return (entry.inputHash, Data(VectorCoding.encode(entry.vector)))
        }
        let now = Timestamp.string(Date())
        try await write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO embedding_cache (model_name, model_version, dimension, text_hash, vector, created_at)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (model_name, model_version, dimension, text_hash) DO UPDATE SET vector = excluded.vector
                """)
            for (hash, blob) in encoded {
                try statement.execute(arguments: [model.name, model.version, model.dimension, hash, blob, now])
            }
        }
    }

    // MARK: Writing a sync

    package func apply(_ changes: StoreChanges) async throws -> AppliedChanges {
        try changes.validate(location: path)
        return try await write { db in
            let now = Timestamp.string(Date())
            let versionID = try Self.findOrCreateVersion(changes.model, weight: changes.hybridDenseWeight, in: db, now: now)

            let insert = try db.cachedStatement(sql: """
                INSERT INTO templates (version_id, template_id, category, subcategory, question, answer, metadata,
                                       input_hash, content_hash, vector, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for t in changes.inserts {
                try insert.execute(arguments: [versionID, t.id, t.category, t.subcategory, t.question, t.answer,
                                               t.metadataJSON, t.inputHash, t.contentHash,
                                               Data(VectorCoding.encode(t.vector)), now, now])
            }
            let updateWithVector = try db.cachedStatement(sql: """
                UPDATE templates SET category = ?, subcategory = ?, question = ?, answer = ?, metadata = ?,
                       input_hash = ?, content_hash = ?, vector = ?, updated_at = ?
                WHERE version_id = ? AND template_id = ?
                """)
            for t in changes.vectorUpdates {
                try updateWithVector.execute(arguments: [t.category, t.subcategory, t.question, t.answer,
                                                         t.metadataJSON, t.inputHash, t.contentHash,
                                                         Data(VectorCoding.encode(t.vector)), now, versionID, t.id])
            }
            let updateFields = try db.cachedStatement(sql: """
                UPDATE templates SET category = ?, subcategory = ?, question = ?, answer = ?, metadata = ?,
                       content_hash = ?, updated_at = ?
                WHERE version_id = ? AND template_id = ?
                """)
            for t in changes.fieldUpdates {
                try updateFields.execute(arguments: [t.category, t.subcategory, t.question, t.answer,
                                                     t.metadataJSON, t.contentHash, now, versionID, t.id])
            }
            // The deleted templates' questions, for the change log, before the rows go.
            var changeLog = changes.changeLog
            let deletedQuestion = try db.cachedStatement(sql: "SELECT question FROM templates WHERE version_id = ? AND template_id = ?")
            let delete = try db.cachedStatement(sql: "DELETE FROM templates WHERE version_id = ? AND template_id = ?")
            for id in changes.deletions {
                let question = try String.fetchOne(deletedQuestion, arguments: [versionID, id]) ?? ""
                changeLog.append(SyncChange(templateID: id, question: question, kind: .deleted))
                try delete.execute(arguments: [versionID, id])
            }
            try db.execute(sql: "DELETE FROM quarantined_templates WHERE version_id = ?", arguments: [versionID])
            let quarantine = try db.cachedStatement(sql: """
                INSERT INTO quarantined_templates (version_id, template_id, input_hash, reason, since) VALUES (?, ?, ?, ?, ?)
                """)
            for entry in changes.quarantine {
                try quarantine.execute(arguments: [versionID, entry.templateID, entry.inputHash, entry.reason, Timestamp.string(entry.since)])
            }
            var switched = false
            if changes.makeCurrent {
                try db.execute(sql: "UPDATE embedding_versions SET is_current = 0 WHERE is_current = 1 AND id != ?", arguments: [versionID])
                switched = db.changesCount > 0
                try db.execute(sql: "UPDATE embedding_versions SET is_current = 1 WHERE id = ? AND is_current = 0", arguments: [versionID])
                switched = switched || db.changesCount > 0
            }
            let generation = changes.changesTemplates || switched ? try Self.nextGeneration(db) : try Self.generation(db)
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM templates WHERE version_id = ?", arguments: [versionID]) ?? 0
            try db.execute(sql: "UPDATE embedding_versions SET template_count = ? WHERE id = ?", arguments: [count, versionID])
            var run = changes.run
            run.versionID = versionID
            run.templates = count
            run.finishedAt = Date()
            let runID = try Self.insert(run, in: db)
            try Self.record(changeLog, runID: runID, keepingRuns: changes.historyRuns, in: db)
            return AppliedChanges(versionID: versionID, templateCount: count, runID: runID, generation: generation)
        }
    }

    // MARK: Generation

    package func generation() async throws -> Int64 {
        guard exists() else { return 0 }
        return try await read { db in try Self.generation(db) }
    }

    static func generation(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT generation FROM store_state WHERE id = 1") ?? 0
    }

    static func nextGeneration(_ db: Database) throws -> Int64 {
        try db.execute(sql: "UPDATE store_state SET generation = generation + 1 WHERE id = 1")
        return try generation(db)
    }

    private static func findOrCreateVersion(_ model: ModelIdentity, weight: Float?, in db: Database, now: String) throws -> Int64 {
        if let id = try Int64.fetchOne(db, sql: """
            SELECT id FROM embedding_versions WHERE model_name = ? AND model_version = ? AND dimension = ?
            """, arguments: [model.name, model.version, model.dimension]) {
            return id
        }
        try db.execute(sql: """
            INSERT INTO embedding_versions (model_name, model_version, dimension, is_current, created_at, hybrid_dense_weight) VALUES (?, ?, ?, 0, ?, ?)
            """, arguments: [model.name, model.version, model.dimension, now, weight.map { Double($0) }])
        return db.lastInsertedRowID
    }

    // MARK: Versions

    package func setCurrentVersion(_ id: Int64) async throws -> StoredVersion {
        let location = path
        return try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM embedding_versions WHERE id = ?", arguments: [id]) != nil else {
                throw StoreError(code: .versionNotFound, location: location, message: "there is no version \(id)",
                                 hint: "`faqsync versions list` shows the versions")
            }
            try db.execute(sql: "UPDATE embedding_versions SET is_current = 0 WHERE is_current = 1 AND id != ?", arguments: [id])
            try db.execute(sql: "UPDATE embedding_versions SET is_current = 1 WHERE id = ?", arguments: [id])
            _ = try Self.nextGeneration(db)
            guard let row = try Row.fetchOne(db, sql: """
                SELECT v.id, v.model_name, v.model_version, v.dimension, v.is_current, v.created_at, v.hybrid_dense_weight,
                       v.template_count
                FROM embedding_versions v WHERE v.id = ?
                """, arguments: [id]) else {
                throw StoreError(code: .versionNotFound, location: location, message: "there is no version \(id)")
            }
            return Self.version(from: row)
        }
    }

    package func removeNonCurrentVersions() async throws -> CleanReport {
        try await write { db in
            let removed = try Row.fetchAll(db, sql: """
                SELECT v.id, v.model_name, v.model_version, v.dimension, v.is_current, v.created_at, v.hybrid_dense_weight,
                       v.template_count
                FROM embedding_versions v WHERE v.is_current = 0 ORDER BY v.id
                """).map(Self.version(from:))
            try db.execute(sql: "DELETE FROM templates WHERE version_id IN (SELECT id FROM embedding_versions WHERE is_current = 0)")
            let templates = db.changesCount
            try db.execute(sql: "DELETE FROM embedding_versions WHERE is_current = 0")
            if !removed.isEmpty { _ = try Self.nextGeneration(db) }
            // Cached vectors of models that no longer have a version are dead weight.
            try db.execute(sql: """
                DELETE FROM embedding_cache WHERE NOT EXISTS (
                    SELECT 1 FROM embedding_versions v WHERE v.model_name = embedding_cache.model_name
                    AND v.model_version = embedding_cache.model_version AND v.dimension = embedding_cache.dimension)
                """)
            return CleanReport(removedVersions: removed, removedTemplates: templates, removedCacheEntries: db.changesCount)
        }
    }

    // MARK: Audit

    package func record(failedRun: SyncRunRecord) async throws {
        guard exists() else { return }
        _ = try await write { db in try Self.insert(failedRun, in: db) }
    }

    package func recentRuns(limit: Int, changesPerRun: Int) async throws -> [SyncRunRecord] {
        try await read { db in
            let runs = try Row.fetchAll(db, sql: "SELECT * FROM sync_runs ORDER BY id DESC LIMIT ?", arguments: [limit])
            var changes: [Int64: [SyncChange]] = [:]
            if changesPerRun > 0 {
                // Per run, so the index on run_id stops each read at the limit: an initial sync's
                // 100,000 changes are not read to list 200.
                let select = try db.cachedStatement(sql: """
                    SELECT template_id, question, kind FROM sync_changes WHERE run_id = ? ORDER BY rowid LIMIT ?
                    """)
                for case let runID? in runs.map({ $0["id"] as Int64? }) {
                    changes[runID] = try Row.fetchAll(select, arguments: [runID, changesPerRun]).compactMap { row in
                        SyncChange.Kind(rawValue: row["kind"]).map { SyncChange(templateID: row["template_id"], question: row["question"], kind: $0) }
                    }
                }
            }
            return runs.map { row in
                var run = SyncRunRecord(startedAt: Timestamp.date(row["started_at"]), finishedAt: Timestamp.date(row["finished_at"]),
                                        sourcePath: row["source_path"], sourceSHA256: row["source_sha256"],
                                        outcome: SyncRunRecord.Outcome(rawValue: row["outcome"]) ?? .failed)
                run.id = row["id"]
                run.versionID = row["version_id"]
                run.new = row["new_count"]
                run.modified = row["modified_count"]
                run.metadataOnly = row["metadata_only_count"]
                run.deleted = row["deleted_count"]
                run.unchanged = row["unchanged_count"]
                run.embeddedTexts = row["embedded_texts"]
                run.cacheHits = row["cache_hits"]
                run.embeddingRequests = row["embedding_requests"]
                run.templates = row["template_count"]
                run.tokens = row["tokens"]
                run.quarantined = row["quarantined_count"]
                run.skippedRowsJSON = (row["skipped_rows"] as String?) ?? "[]"
                run.settingsSHA256 = row["settings_sha256"]
                run.changes = run.id.flatMap { changes[$0] } ?? []
                run.error = row["error"]
                return run
            }
        }
    }

    /// Writes a run's change log and prunes the logs of runs beyond the newest `keepingRuns`.
    private static func record(_ changeLog: [SyncChange], runID: Int64, keepingRuns: Int, in db: Database) throws {
        let insert = try db.cachedStatement(sql: "INSERT INTO sync_changes (run_id, template_id, question, kind) VALUES (?, ?, ?, ?)")
        for change in changeLog {
            try insert.execute(arguments: [runID, change.templateID, change.question, change.kind.rawValue])
        }
        try db.execute(sql: """
            DELETE FROM sync_changes WHERE run_id NOT IN (SELECT id FROM sync_runs ORDER BY id DESC LIMIT ?)
            """, arguments: [max(1, keepingRuns)])
    }

    private static func insert(_ run: SyncRunRecord, in db: Database) throws -> Int64 {
        try db.execute(sql: """
            INSERT INTO sync_runs (started_at, finished_at, source_path, source_sha256, version_id, outcome,
                new_count, modified_count, metadata_only_count, deleted_count, unchanged_count,
                embedded_texts, cache_hits, embedding_requests, template_count, error, tokens, quarantined_count, skipped_rows,
                settings_sha256)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [Timestamp.string(run.startedAt), Timestamp.string(run.finishedAt), run.sourcePath,
                             run.sourceSHA256, run.versionID, run.outcome.rawValue, run.new, run.modified,
                             run.metadataOnly, run.deleted, run.unchanged, run.embeddedTexts, run.cacheHits,
                             run.embeddingRequests, run.templates, run.error, run.tokens, run.quarantined,
                             run.skippedRowsJSON, run.settingsSHA256])
        return db.lastInsertedRowID
    }

    // MARK: Quarantine

    package func quarantine(model: ModelIdentity) async throws -> [QuarantinedTemplate] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT q.* FROM quarantined_templates q JOIN embedding_versions v ON v.id = q.version_id
                WHERE v.model_name = ? AND v.model_version = ? AND v.dimension = ? ORDER BY q.template_id
                """, arguments: [model.name, model.version, model.dimension]).map { row in
                QuarantinedTemplate(templateID: row["template_id"], inputHash: row["input_hash"], reason: row["reason"],
                                    since: Timestamp.date(row["since"]))
            }
        }
    }

    // MARK: Snapshots

    package func lastSnapshotPublication() async throws -> PublishedSnapshot? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM snapshot_publications ORDER BY generation DESC LIMIT 1").map { row in
                PublishedSnapshot(generation: UInt64(clamping: row["generation"] as Int64), versionID: row["version_id"],
                                          templateCount: row["template_count"], path: row["path"],
                                          publishedAt: Timestamp.date(row["published_at"]), storeGeneration: row["store_generation"])
            }
        }
    }

    package func record(snapshotPublication record: PublishedSnapshot) async throws {
        try await write { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO snapshot_publications (generation, version_id, template_count, path, published_at, store_generation)
                VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [Int64(clamping: record.generation), record.versionID, record.templateCount, record.path,
                                 Timestamp.string(record.publishedAt), record.storeGeneration])
        }
    }

    // MARK: Integrity

    package func checkIntegrity() async throws -> IntegrityReport {
        try await read { db in
            var problems: [String] = []
            let quickCheck = try String.fetchAll(db, sql: "PRAGMA quick_check")
            if quickCheck != ["ok"] { problems.append("SQLite quick_check: \(quickCheck.prefix(5).joined(separator: "; "))") }
            let versions = try Row.fetchAll(db, sql: "SELECT id, dimension, is_current FROM embedding_versions")
            if !versions.isEmpty, !versions.contains(where: { ($0["is_current"] as Int) == 1 }) {
                problems.append("no version is current")
            }
            let dimensions = Dictionary(uniqueKeysWithValues: versions.map { ($0["id"] as Int64, $0["dimension"] as Int) })
            var checked = 0
            let rows = try Row.fetchCursor(db, sql: "SELECT version_id, template_id, input_hash, content_hash, vector FROM templates")
            while let row = try rows.next() {
                checked += 1
                let versionID: Int64 = row[0]
                let id: String = row[1]
                guard let dimension = dimensions[versionID] else {
                    problems.append("template \(id) belongs to missing version \(versionID)")
                    continue
                }
                for (name, hash) in [("input", row[2] as String), ("content", row[3] as String)] where !Self.isSHA256Hex(hash) {
                    problems.append("template \(id) (version \(versionID)) has no valid \(name) hash")
                }
                let blob: Data = row[4]
                guard let vector = VectorCoding.decode(blob, dimension: dimension) else {
                    problems.append("template \(id) (version \(versionID)) has a vector of \(blob.count / 4) values, expected \(dimension)")
                    continue
                }
                if !vector.allSatisfy(\.isFinite) {
                    problems.append("template \(id) (version \(versionID)) has a NaN or infinite value in its vector")
                }
                if problems.count > 50 { break }
            }
            let miscounted = try Row.fetchAll(db, sql: """
                SELECT v.id, v.template_count, (SELECT COUNT(*) FROM templates t WHERE t.version_id = v.id) AS held FROM embedding_versions v
                WHERE v.template_count <> (SELECT COUNT(*) FROM templates t WHERE t.version_id = v.id)
                """)
            for row in miscounted {
                problems.append("version \(row["id"] as Int64) records \(row["template_count"] as Int) templates but holds \(row["held"] as Int)")
            }
            return IntegrityReport(checkedTemplates: checked, problems: problems)
        }
    }

    private static func isSHA256Hex(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    private static func version(from row: Row) -> StoredVersion {
        StoredVersion(id: row["id"],
                      model: ModelIdentity(name: row["model_name"], version: row["model_version"], dimension: row["dimension"]),
                      isCurrent: (row["is_current"] as Int) == 1, createdAt: Timestamp.date(row["created_at"]),
                      templateCount: row["template_count"],
                      recordedHybridDenseWeight: (row["hybrid_dense_weight"] as Double?).map(Float.init).flatMap { (0...1).contains($0) ? $0 : nil })
    }
}

extension Configuration {
    /// GRDB's configuration as faqsync uses it: default QoS for its queues. GRDB's default,
    /// user-initiated, makes libdispatch on Linux renice those threads to -2, which a service
    /// without CAP_SYS_NICE may not, and it logs so on every start.
    static func faqsync() -> Configuration {
        var configuration = Configuration()
        configuration.qos = .default
        return configuration
    }
}

/// Timestamps as ISO 8601 text in UTC with milliseconds: sortable and readable in `sqlite3`.
enum Timestamp {
    static func string(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(.colon).timeZone(separator: .omitted))
    }

    static func date(_ text: String) -> Date {
        (try? Date(text, strategy: .iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(.colon).timeZone(separator: .omitted)))
            ?? (try? Date(text, strategy: .iso8601)) ?? Date(timeIntervalSince1970: 0)
    }
}
