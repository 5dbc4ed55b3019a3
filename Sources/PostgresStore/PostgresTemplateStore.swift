import Embedding
import Foundation
import Logging
import PostgresClient
import Reconciliation
import Synchronization
import TemplateStore

/// The store on PostgreSQL with pgvector, for teams whose retrieval runs on several hosts.
///
/// Same contract as `SQLiteTemplateStore`; in addition each committed change bumps a store-wide
/// generation and sends `NOTIFY faqsync_changed`, and `exclusively` holds a session advisory
/// lock so two writers (an HA pair) never reconcile at once. Every libpq call runs on a pool
/// session's own queue.
package final class PostgresTemplateStore: TemplateStore {
    package let settings: PostgresSettings
    package var location: String { settings.redactedURL }
    /// Build an HNSW index (cosine) on the current version's vectors after each change of version.
    package let buildsHNSWIndex: Bool
    let pool: PostgresPool
    private let lockSession: PostgresSession
    private let migration = Mutex<Task<Void, any Error>?>(nil)
    private let logger: Logger

    package static let notificationChannel = "faqsync_changed"
    /// The sync lock: one per database, so two faqsync deployments on one server do not block each other.
    static let syncLockKey: Int64 = 0x6661_7173_796E_6300

    package init(settings: PostgresSettings, buildsHNSWIndex: Bool = false, logger: Logger = Logger(label: "faqsync.postgres")) {
        self.settings = settings
        self.buildsHNSWIndex = buildsHNSWIndex
        self.logger = logger
        pool = PostgresPool(settings: settings)
        lockSession = PostgresSession(settings: settings, label: "sync-lock")
    }

    /// The database is configured, so the store "exists": the schema is created on first use,
    /// and an unreachable server is reported by the first call rather than hidden here.
    package func exists() -> Bool { true }

    package func close() async {
        await pool.close()
        await lockSession.close()
    }

    // MARK: Plumbing

    /// Runs `body` on a pooled connection once the schema is migrated; errors become StoreErrors.
    func run<T: Sendable>(writing: Bool = false, _ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await migrated()
        return try await mapErrors(writing: writing) { try await self.pool.withConnection(body) }
    }

    private func migrated() async throws {
        let task = migration.withLock { existing in
            if let existing { return existing }
            let location = self.location
            let created = Task { [pool] in
                try await pool.withConnection { try PostgresSchema.migrate($0, location: location) }
            }
            existing = created
            return created
        }
        do {
            try await mapErrors(writing: true) { try await task.value }
        } catch {
            // Not cached: the server may be back on the next call (the daemon retries).
            migration.withLock { $0 = nil }
            throw error
        }
    }

    private func mapErrors<T>(writing: Bool, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as StoreError {
            throw error
        } catch let error as PostgresError {
            let failure: StoreError.DatabaseFailure
            if error.isConnectionProblem {
                failure = error.code == .connectionFailed ? .unreachable(endpoint: settings.endpoint) : .connectionLost(endpoint: settings.endpoint)
            } else {
                failure = error.isTransient ? .transient : .refused
            }
            throw StoreError.database(failure, writing: writing, location: location,
                                      underlying: error)
        } catch is CancellationError {
            throw CancellationError()
        }
    }

    // MARK: Reading

    static let versionColumns = """
        v.id, v.model_name, v.model_version, v.dimension, v.is_current, v.created_at,
        v.template_count, v.hybrid_dense_weight::text
        """

    static func version(_ result: PostgresResult, _ row: Int) -> StoredVersion {
        StoredVersion(id: result.integer(row, 0),
                      model: ModelIdentity(name: result.string(row, 1), version: result.string(row, 2), dimension: result.int(row, 3)),
                      isCurrent: result.bool(row, 4), createdAt: result.date(row, 5), templateCount: result.int(row, 6),
                      recordedHybridDenseWeight: result.optionalString(row, 7).flatMap(Float.init).flatMap { (0...1).contains($0) ? $0 : nil })
    }

    package func versions() async throws -> [StoredVersion] {
        try await run { connection in
            let result = try connection.execute("SELECT \(Self.versionColumns) FROM embedding_versions v ORDER BY v.id")
            return (0..<result.rowCount).map { Self.version(result, $0) }
        }
    }

    package func templateStates(versionID: Int64) async throws -> [String: StoredTemplateState] {
        try await run { connection in
            let result = try connection.execute("SELECT template_id, input_hash, content_hash FROM templates WHERE version_id = $1",
                                                [.integer(versionID)])
            var states: [String: StoredTemplateState] = [:]
            states.reserveCapacity(result.rowCount)
            for row in 0..<result.rowCount {
                states[result.string(row, 0)] = StoredTemplateState(inputHash: result.string(row, 1), contentHash: result.string(row, 2))
            }
            return states
        }
    }

    package func templates(versionID: Int64) async throws -> [StoredTemplate] {
        let location = self.location
        return try await run { connection in
            let result = try connection.execute("""
                SELECT template_id, category, subcategory, question, answer, metadata::text, input_hash, content_hash, embedding
                FROM templates WHERE version_id = $1 ORDER BY template_id COLLATE "C"
                """, [.integer(versionID)])
            return try Self.storedTemplates(result, location: location)
        }
    }

    static func storedTemplates(_ result: PostgresResult, location: String) throws -> [StoredTemplate] {
        try (0..<result.rowCount).map { row in
            guard let vector = result.vector(row, 8) else {
                throw StoreError(code: .invalidVector, location: location, message: "template \(result.string(row, 0)) has an unreadable vector")
            }
            return StoredTemplate(id: result.string(row, 0), category: result.string(row, 1), subcategory: result.string(row, 2),
                                  question: result.string(row, 3), answer: result.string(row, 4),
                                  metadataJSON: MetadataCoding.canonical(result.string(row, 5)), inputHash: result.string(row, 6),
                                  contentHash: result.string(row, 7), vector: vector)
        }
    }

    // MARK: Embedding cache

    package func cachedVectors(model: ModelIdentity, inputHashes: [String]) async throws -> [String: [Float]] {
        guard !inputHashes.isEmpty else { return [:] }
        return try await run { connection in
            let result = try connection.execute("""
                SELECT text_hash, embedding FROM embedding_cache
                WHERE model_name = $1 AND model_version = $2 AND dimension = $3 AND text_hash = ANY($4::text[])
                """, [.text(model.name), .text(model.version), .int(model.dimension), .textArray(inputHashes)])
            var found: [String: [Float]] = [:]
            for row in 0..<result.rowCount {
                if let vector = result.vector(row, 1), vector.count == model.dimension { found[result.string(row, 0)] = vector }
            }
            return found
        }
    }

    package func cache(model: ModelIdentity, vectors: [(inputHash: String, vector: [Float])]) async throws {
        guard !vectors.isEmpty else { return }
        if let wrong = vectors.first(where: { $0.vector.count != model.dimension }) {
            throw StoreError(code: .invalidVector, location: location,
                             message: "refusing to cache a vector of \(wrong.vector.count) values for \(model)")
        }
        let entries = vectors.map { (hash: $0.inputHash, vector: $0.vector) }
        try await run(writing: true) { connection in
            try connection.transaction {
                try connection.executeScript("CREATE TEMP TABLE staged_cache (text_hash text, embedding vector) ON COMMIT DROP")
                try connection.copyIn("COPY staged_cache FROM STDIN (FORMAT binary)") { writer in
                    for entry in entries { try writer.row([.text(entry.hash), .vector(entry.vector)]) }
                }
                try connection.execute("""
                    INSERT INTO embedding_cache (model_name, model_version, dimension, text_hash, embedding)
                    SELECT $1, $2, $3, text_hash, embedding FROM staged_cache
                    ON CONFLICT (model_name, model_version, dimension, text_hash) DO UPDATE SET embedding = excluded.embedding
                    """, [.text(model.name), .text(model.version), .int(model.dimension)])
            }
        }
    }

    // MARK: Writing a sync

    package func apply(_ changes: StoreChanges) async throws -> AppliedChanges {
        let model = changes.model
        try changes.validate(location: location)
        let host = ProcessInfo.processInfo.hostName
        let applied = try await run(writing: true) { connection in
            try connection.transaction { () throws -> (AppliedChanges, Bool) in
                // A change of templates takes the next generation (and the store_state row lock)
                // first, so rows carry it; a sync that changed nothing leaves it where it was.
                var generation = changes.changesTemplates ? try Self.nextGeneration(connection) : try Self.currentGeneration(connection)
                let versionID = try Self.findOrCreateVersion(model, weight: changes.hybridDenseWeight, connection)
                let id = PostgresValue.integer(versionID)
                try Self.stageAndWrite(changes, versionID: versionID, generation: generation, connection)
                var changeLog = changes.changeLog
                if !changes.deletions.isEmpty {
                    // RETURNING: the deleted templates' questions, for the change log.
                    let deleted = try connection.execute("""
                        DELETE FROM templates WHERE version_id = $1 AND template_id = ANY($2::text[]) RETURNING template_id, question
                        """, [id, .textArray(changes.deletions)])
                    changeLog += (0..<deleted.rowCount).map {
                        SyncChange(templateID: deleted.string($0, 0), question: deleted.string($0, 1), kind: .deleted)
                    }.sorted { $0.templateID < $1.templateID }
                    try connection.execute("""
                        INSERT INTO template_deletions (version_id, template_id, generation)
                        SELECT $1, unnest($2::text[]), $3
                        ON CONFLICT (version_id, template_id) DO UPDATE SET generation = excluded.generation
                        """, [id, .textArray(changes.deletions), .integer(generation)])
                }
                try connection.execute("DELETE FROM quarantined_templates WHERE version_id = $1", [id])
                for entry in changes.quarantine {
                    try connection.execute("""
                        INSERT INTO quarantined_templates (version_id, template_id, input_hash, reason, since) VALUES ($1, $2, $3, $4, $5)
                        """, [id, .text(entry.templateID), .text(entry.inputHash), .text(entry.reason), .timestamp(entry.since)])
                }
                var becameCurrent = false
                if changes.makeCurrent {
                    becameCurrent = try Self.makeCurrent(versionID, connection)
                }
                if becameCurrent, !changes.changesTemplates { generation = try Self.nextGeneration(connection) }
                let count = try connection.execute("SELECT count(*) FROM templates WHERE version_id = $1", [id]).int(0, 0)
                try connection.execute("UPDATE embedding_versions SET template_count = $2 WHERE id = $1", [id, .int(count)])
                var run = changes.run
                run.versionID = versionID
                run.templates = count
                run.finishedAt = Date()
                let runID = try Self.insert(run, host: host, connection)
                try Self.record(changeLog, runID: runID, keepingRuns: changes.historyRuns, connection)
                if changes.changesTemplates || becameCurrent { try Self.notify(generation: generation, connection) }
                return (AppliedChanges(versionID: versionID, templateCount: count, runID: runID, generation: generation), becameCurrent)
            }
        }
        if applied.1 { await refreshHNSWIndex() }
        return applied.0
    }

    /// Inserts, vector updates and field updates go through one binary COPY into a staging
    /// table, then three set-based statements: a 100k-template first sync is one round trip's
    /// worth of statements, not 100k.
    private static func stageAndWrite(_ changes: StoreChanges, versionID: Int64, generation: Int64, _ connection: PostgresConnection) throws {
        guard !(changes.inserts.isEmpty && changes.vectorUpdates.isEmpty && changes.fieldUpdates.isEmpty) else { return }
        try connection.executeScript("""
            CREATE TEMP TABLE staged_templates (
                kind text, template_id text, category text, subcategory text, question text, answer text,
                metadata text, input_hash text, content_hash text, embedding vector
            ) ON COMMIT DROP
            """)
        try connection.copyIn("COPY staged_templates FROM STDIN (FORMAT binary)") { writer in
            func fields(_ kind: String, _ t: StoredTemplate, withVector: Bool) -> [PostgresCopyWriter.Field] {
                [.text(kind), .text(t.id), .text(t.category), .text(t.subcategory), .text(t.question), .text(t.answer),
                 .text(t.metadataJSON), .text(t.inputHash), .text(t.contentHash), withVector ? .vector(t.vector) : .null]
            }
            for stored in changes.inserts { try writer.row(fields("insert", stored, withVector: true)) }
            for stored in changes.vectorUpdates { try writer.row(fields("vector", stored, withVector: true)) }
            for stored in changes.fieldUpdates { try writer.row(fields("fields", stored, withVector: false)) }
        }
        // Without statistics the planner guesses a few rows for the staging table and joins it
        // by nested loop: minutes at 100k. ANALYZE makes the joins hash joins.
        try connection.executeScript("ANALYZE staged_templates")
        let parameters: [PostgresValue?] = [.integer(versionID), .int(changes.model.dimension), .integer(generation)]
        try connection.execute("""
            INSERT INTO templates (version_id, dimension, template_id, category, subcategory, question, answer, metadata,
                                   input_hash, content_hash, embedding, changed_generation)
            SELECT $1, $2, template_id, category, subcategory, question, answer, metadata::jsonb, input_hash, content_hash, embedding, $3
            FROM staged_templates WHERE kind = 'insert'
            """, parameters)
        if changes.inserts.count >= 1000 {
            // A bulk load leaves the table's statistics saying "a few rows" until autovacuum
            // catches up, and the next sync's join then scans the whole version per staged row
            // (0.3 s for a 1% delta at 10k). The key columns only: the vectors need no statistics.
            try connection.executeScript("ANALYZE templates (version_id, template_id, changed_generation, dimension)")
        }
        try connection.execute("""
            DELETE FROM template_deletions d USING staged_templates s
            WHERE d.version_id = $1 AND s.kind = 'insert' AND d.template_id = s.template_id
            """, [.integer(versionID)])
        try connection.execute("""
            UPDATE templates t SET category = s.category, subcategory = s.subcategory, question = s.question, answer = s.answer,
                   metadata = s.metadata::jsonb, input_hash = s.input_hash, content_hash = s.content_hash, embedding = s.embedding,
                   changed_generation = $3, updated_at = now()
            FROM staged_templates s
            WHERE s.kind = 'vector' AND t.version_id = $1 AND t.template_id = s.template_id AND $2::integer = t.dimension
            """, parameters)
        try connection.execute("""
            UPDATE templates t SET category = s.category, subcategory = s.subcategory, question = s.question, answer = s.answer,
                   metadata = s.metadata::jsonb, content_hash = s.content_hash, changed_generation = $3, updated_at = now()
            FROM staged_templates s
            WHERE s.kind = 'fields' AND t.version_id = $1 AND t.template_id = s.template_id AND $2::integer = t.dimension
            """, parameters)
    }

    /// Takes the store_state row lock for the rest of the transaction: generations are handed
    /// out in commit order, which followers rely on.
    private static func nextGeneration(_ connection: PostgresConnection) throws -> Int64 {
        try connection.execute("UPDATE store_state SET generation = generation + 1 RETURNING generation").integer(0, 0)
    }

    private static func currentGeneration(_ connection: PostgresConnection) throws -> Int64 {
        try connection.execute("SELECT generation FROM store_state").integer(0, 0)
    }

    package func generation() async throws -> Int64 {
        try await run { connection in try Self.currentGeneration(connection) }
    }

    private static func findOrCreateVersion(_ model: ModelIdentity, weight: Float?, _ connection: PostgresConnection) throws -> Int64 {
        let parameters: [PostgresValue?] = [.text(model.name), .text(model.version), .int(model.dimension)]
        try connection.execute("""
            INSERT INTO embedding_versions (model_name, model_version, dimension, hybrid_dense_weight) VALUES ($1, $2, $3, $4::real)
            ON CONFLICT (model_name, model_version, dimension) DO NOTHING
            """, parameters + [weight.map { .text("\($0)") }])
        return try connection.execute("""
            SELECT id FROM embedding_versions WHERE model_name = $1 AND model_version = $2 AND dimension = $3
            """, parameters).integer(0, 0)
    }

    /// True when the current version changed.
    private static func makeCurrent(_ versionID: Int64, _ connection: PostgresConnection) throws -> Bool {
        let cleared = try connection.execute("UPDATE embedding_versions SET is_current = false WHERE is_current AND id <> $1",
                                             [.integer(versionID)]).affectedRows
        let set = try connection.execute("UPDATE embedding_versions SET is_current = true WHERE id = $1 AND NOT is_current",
                                         [.integer(versionID)]).affectedRows
        return cleared + set > 0
    }

    /// Delivered to listeners when the transaction commits, never for a rolled-back one.
    private static func notify(generation: Int64, _ connection: PostgresConnection) throws {
        let current = try connection.execute("SELECT id FROM embedding_versions WHERE is_current")
        let version = current.rowCount > 0 ? String(current.integer(0, 0)) : "null"
        try connection.execute("SELECT pg_notify($1, $2)",
                               [.text(notificationChannel), .text("{\"version\":\(version),\"generation\":\(generation)}")])
    }

    // MARK: Versions

    package func setCurrentVersion(_ id: Int64) async throws -> StoredVersion {
        let location = self.location
        let version = try await run(writing: true) { connection in
            try connection.transaction { () throws -> StoredVersion in
                let generation = try Self.nextGeneration(connection)
                guard try connection.execute("SELECT 1 FROM embedding_versions WHERE id = $1", [.integer(id)]).rowCount == 1 else {
                    throw StoreError(code: .versionNotFound, location: location, message: "there is no version \(id)",
                                     hint: "`faqsync versions list` shows the versions")
                }
                _ = try Self.makeCurrent(id, connection)
                try Self.notify(generation: generation, connection)
                let result = try connection.execute("SELECT \(Self.versionColumns) FROM embedding_versions v WHERE v.id = $1", [.integer(id)])
                return Self.version(result, 0)
            }
        }
        await refreshHNSWIndex()
        return version
    }

    package func removeNonCurrentVersions() async throws -> CleanReport {
        try await run(writing: true) { connection in
            try connection.transaction { () throws -> CleanReport in
                let old = try connection.execute("SELECT \(Self.versionColumns) FROM embedding_versions v WHERE NOT v.is_current ORDER BY v.id")
                let removed = (0..<old.rowCount).map { Self.version(old, $0) }
                guard !removed.isEmpty else { return CleanReport(removedVersions: [], removedTemplates: 0, removedCacheEntries: 0) }
                let generation = try Self.nextGeneration(connection)
                let templates = try connection.execute("""
                    DELETE FROM templates WHERE version_id IN (SELECT id FROM embedding_versions WHERE NOT is_current)
                    """).affectedRows
                for version in removed {
                    try connection.execute("DROP INDEX IF EXISTS \(Self.hnswIndexName(version.id))")
                }
                try connection.execute("DELETE FROM embedding_versions WHERE NOT is_current")
                let cache = try connection.execute("""
                    DELETE FROM embedding_cache c WHERE NOT EXISTS (
                        SELECT 1 FROM embedding_versions v WHERE v.model_name = c.model_name
                        AND v.model_version = c.model_version AND v.dimension = c.dimension)
                    """).affectedRows
                try Self.notify(generation: generation, connection)
                return CleanReport(removedVersions: removed, removedTemplates: templates, removedCacheEntries: cache)
            }
        }
    }

    // MARK: Optional ANN index

    static func hnswIndexName(_ versionID: Int64) -> String { "templates_hnsw_v\(versionID)" }

    /// `POSTGRES_HNSW=1`: an HNSW index on the current version's vectors, for SQL users
    /// (`ORDER BY embedding::vector(D) <=> $1`). faqsync's own retrieval uses the snapshot, so a
    /// failure here is logged, not fatal.
    func refreshHNSWIndex() async {
        guard buildsHNSWIndex else { return }
        do {
            try await run(writing: true) { connection in
                let current = try connection.execute("SELECT id, dimension FROM embedding_versions WHERE is_current")
                guard current.rowCount == 1 else { return }
                let id = current.integer(0, 0), dimension = current.int(0, 1)
                // Identifiers cannot be parameters; both values are integers from the database.
                try connection.executeScript("""
                    CREATE INDEX IF NOT EXISTS \(Self.hnswIndexName(id)) ON templates
                    USING hnsw ((embedding::vector(\(dimension))) vector_cosine_ops) WHERE version_id = \(id)
                    """)
            }
        } catch {
            logger.warning("could not build the HNSW index", metadata: ["error": "\(error)"])
        }
    }

    // MARK: One writer at a time

    /// Holds the session advisory lock for `body`. A second writer waits (polling, so that a
    /// shutdown can cancel the wait) and takes over when the first finishes or its session dies.
    package func exclusively<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await migrated()
        let key = PostgresValue.integer(Self.syncLockKey)
        return try await WriterLock.exclusively(pollInterval: .milliseconds(200), tryAcquire: {
            try await mapErrors(writing: false) { try await lockSession.run { try $0.execute("SELECT pg_try_advisory_lock($1)", [key]).bool(0, 0) } }
        }, onFirstWait: {
            logger.notice("another faqsync holds the sync lock on this database; waiting for it", metadata: ["store": "\(location)"])
        }, release: { await unlock(key) }, body)
    }

    private func unlock(_ key: PostgresValue) async {
        do {
            try await lockSession.run { _ = try $0.execute("SELECT pg_advisory_unlock($1)", [key]) }
        } catch {
            // The session is gone, and the lock with it.
            await lockSession.close()
        }
    }

    // MARK: Audit

    package func record(failedRun: SyncRunRecord) async throws {
        let host = ProcessInfo.processInfo.hostName
        _ = try await run(writing: true) { connection in try Self.insert(failedRun, host: host, connection) }
    }

    /// Writes a run's change log (one statement, arrays unnested) and prunes the logs of runs
    /// beyond the newest `keepingRuns`.
    private static func record(_ changeLog: [SyncChange], runID: Int64, keepingRuns: Int, _ connection: PostgresConnection) throws {
        if !changeLog.isEmpty {
            try connection.execute("""
                INSERT INTO sync_changes (run_id, position, template_id, question, kind)
                SELECT $1, c.position, c.template_id, c.question, c.kind
                FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS c(template_id, question, kind, position)
                """, [.integer(runID), .textArray(changeLog.map(\.templateID)), .textArray(changeLog.map(\.question)),
                      .textArray(changeLog.map(\.kind.rawValue))])
        }
        try connection.execute("""
            DELETE FROM sync_changes WHERE run_id NOT IN (SELECT id FROM sync_runs ORDER BY id DESC LIMIT $1)
            """, [.int(max(1, keepingRuns))])
    }

    private static func insert(_ run: SyncRunRecord, host: String, _ connection: PostgresConnection) throws -> Int64 {
        try connection.execute("""
            INSERT INTO sync_runs (started_at, finished_at, source_path, source_sha256, version_id, outcome,
                new_count, modified_count, metadata_only_count, deleted_count, unchanged_count,
                embedded_texts, cache_hits, embedding_requests, template_count, error, tokens, quarantined_count, host, skipped_rows,
                settings_sha256)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
            RETURNING id
            """, [.timestamp(run.startedAt), .timestamp(run.finishedAt), .text(run.sourcePath), run.sourceSHA256.map { .text($0) },
                  run.versionID.map { .integer($0) }, .text(run.outcome.rawValue), .int(run.new), .int(run.modified),
                  .int(run.metadataOnly), .int(run.deleted), .int(run.unchanged), .int(run.embeddedTexts), .int(run.cacheHits),
                  .int(run.embeddingRequests), .int(run.templates), run.error.map { .text($0) }, run.tokens.map { .int($0) },
                  .int(run.quarantined), .text(host), .text(run.skippedRowsJSON), run.settingsSHA256.map { .text($0) }]).integer(0, 0)
    }

    package func recentRuns(limit: Int, changesPerRun: Int) async throws -> [SyncRunRecord] {
        try await run { connection in
            let result = try connection.execute("""
                SELECT id, started_at, finished_at, source_path, source_sha256, version_id, outcome, new_count, modified_count,
                       metadata_only_count, deleted_count, unchanged_count, embedded_texts, cache_hits, embedding_requests,
                       template_count, tokens, quarantined_count, error, skipped_rows, settings_sha256
                FROM sync_runs ORDER BY id DESC LIMIT $1
                """, [.int(limit)])
            var changes: [Int64: [SyncChange]] = [:]
            if changesPerRun > 0 {
                // Per run through the primary key (run_id, position), each read stopping at the
                // limit: an initial sync's 100,000 changes are not read to list 200.
                let changeRows = try connection.execute("""
                    SELECT c.run_id, c.template_id, c.question, c.kind
                    FROM (SELECT id FROM sync_runs ORDER BY id DESC LIMIT $1) r
                    CROSS JOIN LATERAL (SELECT run_id, template_id, question, kind, position FROM sync_changes
                                        WHERE run_id = r.id ORDER BY position LIMIT $2) c
                    ORDER BY c.run_id, c.position
                    """, [.int(limit), .int(changesPerRun)])
                for row in 0..<changeRows.rowCount {
                    guard let kind = SyncChange.Kind(rawValue: changeRows.string(row, 3)) else { continue }
                    changes[changeRows.integer(row, 0), default: []].append(
                        SyncChange(templateID: changeRows.string(row, 1), question: changeRows.string(row, 2), kind: kind))
                }
            }
            return (0..<result.rowCount).map { row in
                var run = SyncRunRecord(startedAt: result.date(row, 1), finishedAt: result.date(row, 2), sourcePath: result.string(row, 3),
                                        sourceSHA256: result.optionalString(row, 4),
                                        outcome: SyncRunRecord.Outcome(rawValue: result.string(row, 6)) ?? .failed)
                run.id = result.integer(row, 0)
                run.versionID = result.isNull(row, 5) ? nil : result.integer(row, 5)
                run.new = result.int(row, 7)
                run.modified = result.int(row, 8)
                run.metadataOnly = result.int(row, 9)
                run.deleted = result.int(row, 10)
                run.unchanged = result.int(row, 11)
                run.embeddedTexts = result.int(row, 12)
                run.cacheHits = result.int(row, 13)
                run.embeddingRequests = result.int(row, 14)
                run.templates = result.int(row, 15)
                run.tokens = result.optionalInt(row, 16)
                run.quarantined = result.int(row, 17)
                run.error = result.optionalString(row, 18)
                run.skippedRowsJSON = result.string(row, 19)
                run.settingsSHA256 = result.optionalString(row, 20)
                run.changes = run.id.flatMap { changes[$0] } ?? []
                return run
            }
        }
    }

    // MARK: Quarantine

    package func quarantine(model: ModelIdentity) async throws -> [QuarantinedTemplate] {
        try await run { connection in
            let result = try connection.execute("""
                SELECT q.template_id, q.input_hash, q.reason, q.since FROM quarantined_templates q
                JOIN embedding_versions v ON v.id = q.version_id
                WHERE v.model_name = $1 AND v.model_version = $2 AND v.dimension = $3 ORDER BY q.template_id COLLATE "C"
                """, [.text(model.name), .text(model.version), .int(model.dimension)])
            return (0..<result.rowCount).map { row in
                QuarantinedTemplate(templateID: result.string(row, 0), inputHash: result.string(row, 1), reason: result.string(row, 2),
                                    since: result.date(row, 3))
            }
        }
    }

    // MARK: Snapshots

    package func lastSnapshotPublication() async throws -> PublishedSnapshot? {
        try await run { connection in
            let result = try connection.execute("""
                SELECT generation, version_id, template_count, path, published_at, store_generation FROM snapshot_publications ORDER BY generation DESC LIMIT 1
                """)
            guard result.rowCount == 1 else { return nil }
            return PublishedSnapshot(generation: UInt64(clamping: result.integer(0, 0)), versionID: result.integer(0, 1),
                                             templateCount: result.int(0, 2), path: result.string(0, 3), publishedAt: result.date(0, 4),
                                             storeGeneration: result.integer(0, 5))
        }
    }

    package func record(snapshotPublication record: PublishedSnapshot) async throws {
        try await run(writing: true) { connection in
            _ = try connection.execute("""
                INSERT INTO snapshot_publications (generation, version_id, template_count, path, published_at, store_generation)
                VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (generation) DO UPDATE SET version_id = excluded.version_id, template_count = excluded.template_count,
                    path = excluded.path, published_at = excluded.published_at, store_generation = excluded.store_generation
                """, [.integer(Int64(clamping: record.generation)), .integer(record.versionID), .int(record.templateCount), .text(record.path),
                      .timestamp(record.publishedAt), .integer(record.storeGeneration)])
        }
    }

    // MARK: Integrity

    /// The database's constraints already tie each vector's dimension to its version and reject
    /// NaN; this checks what they cannot: a current version, hash shapes, the deletion log.
    package func checkIntegrity() async throws -> IntegrityReport {
        try await run { connection in
            var problems: [String] = []
            let versions = try connection.execute("SELECT count(*), count(*) FILTER (WHERE is_current) FROM embedding_versions")
            if versions.int(0, 0) > 0, versions.int(0, 1) == 0 { problems.append("no version is current") }
            let checked = try connection.execute("SELECT count(*) FROM templates").int(0, 0)
            let badHashes = try connection.execute("""
                SELECT template_id, version_id FROM templates
                WHERE input_hash !~ '^[0-9a-f]{64}$' OR content_hash !~ '^[0-9a-f]{64}$' LIMIT 50
                """)
            for row in 0..<badHashes.rowCount {
                problems.append("template \(badHashes.string(row, 0)) (version \(badHashes.integer(row, 1))) has no valid input or content hash")
            }
            let badVectors = try connection.execute("""
                SELECT t.template_id, t.version_id, vector_dims(t.embedding), v.dimension FROM templates t
                JOIN embedding_versions v ON v.id = t.version_id WHERE vector_dims(t.embedding) <> v.dimension LIMIT 50
                """)
            for row in 0..<badVectors.rowCount {
                problems.append("template \(badVectors.string(row, 0)) (version \(badVectors.integer(row, 1))) has a vector of \(badVectors.int(row, 2)) values, expected \(badVectors.int(row, 3))")
            }
            let resurrected = try connection.execute("""
                SELECT count(*) FROM template_deletions d JOIN templates t USING (version_id, template_id)
                """).int(0, 0)
            if resurrected > 0 { problems.append("\(resurrected) templates are both present and recorded as deleted") }
            let miscounted = try connection.execute("""
                SELECT v.id, v.template_count, (SELECT count(*) FROM templates t WHERE t.version_id = v.id) FROM embedding_versions v
                WHERE v.template_count <> (SELECT count(*) FROM templates t WHERE t.version_id = v.id)
                """)
            for row in 0..<miscounted.rowCount {
                problems.append("version \(miscounted.integer(row, 0)) records \(miscounted.int(row, 1)) templates but holds \(miscounted.int(row, 2))")
            }
            return IntegrityReport(checkedTemplates: checked, problems: problems)
        }
    }
}
