import PostgresClient
import TemplateStore

/// The PostgreSQL schema as versioned migrations, applied under a transaction-level advisory
/// lock so two hosts starting at once do not both migrate. Append a migration; never edit one.
enum PostgresSchema {
    struct Migration {
        let id: String
        let sql: String
    }

    /// Distinct from the sync lock's key: migrating and syncing must not wait for each other.
    static let migrationLockKey: Int64 = 0x6661_7173_796E_6301

    static let migrations: [Migration] = [
        Migration(id: "v1-versions-templates-cache-runs", sql: """
            CREATE EXTENSION IF NOT EXISTS vector;

            CREATE TABLE embedding_versions (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                model_name text NOT NULL,
                model_version text NOT NULL,
                dimension integer NOT NULL CHECK (dimension BETWEEN 1 AND 16000),
                is_current boolean NOT NULL DEFAULT false,
                created_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (model_name, model_version, dimension),
                -- The target of templates' (version_id, dimension) key: a vector's dimension is
                -- tied to its version's, so versions of different dimensions live side by side.
                UNIQUE (id, dimension)
            );
            CREATE UNIQUE INDEX embedding_versions_one_current ON embedding_versions (is_current) WHERE is_current;

            -- Bumped by every committed change; templates and deletions carry the generation that
            -- last touched them, so a follower fetches only what changed since its own.
            CREATE TABLE store_state (
                singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                generation bigint NOT NULL DEFAULT 0
            );
            INSERT INTO store_state DEFAULT VALUES;

            -- The vector column is untyped `vector`; its dimension is checked against the version's.
            CREATE TABLE templates (
                version_id bigint NOT NULL,
                dimension integer NOT NULL,
                template_id text NOT NULL,
                category text NOT NULL,
                subcategory text NOT NULL,
                question text NOT NULL,
                answer text NOT NULL,
                metadata jsonb NOT NULL DEFAULT '[]',
                input_hash text NOT NULL,
                content_hash text NOT NULL,
                embedding vector NOT NULL CHECK (vector_dims(embedding) = dimension),
                changed_generation bigint NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (version_id, template_id),
                FOREIGN KEY (version_id, dimension) REFERENCES embedding_versions (id, dimension) ON DELETE CASCADE
            );
            CREATE INDEX templates_changes ON templates (version_id, changed_generation);

            -- Deleted templates, so followers can drop them; a re-added template removes its row.
            CREATE TABLE template_deletions (
                version_id bigint NOT NULL REFERENCES embedding_versions (id) ON DELETE CASCADE,
                template_id text NOT NULL,
                generation bigint NOT NULL,
                PRIMARY KEY (version_id, template_id)
            );

            -- Content-addressed: (model, hash of the embedded text) -> vector.
            CREATE TABLE embedding_cache (
                model_name text NOT NULL,
                model_version text NOT NULL,
                dimension integer NOT NULL,
                text_hash text NOT NULL,
                embedding vector NOT NULL CHECK (vector_dims(embedding) = dimension),
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (model_name, model_version, dimension, text_hash)
            );

            CREATE TABLE sync_runs (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                started_at timestamptz NOT NULL,
                finished_at timestamptz NOT NULL,
                source_path text NOT NULL,
                source_sha256 text,
                version_id bigint,
                outcome text NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
                new_count integer NOT NULL DEFAULT 0,
                modified_count integer NOT NULL DEFAULT 0,
                metadata_only_count integer NOT NULL DEFAULT 0,
                deleted_count integer NOT NULL DEFAULT 0,
                unchanged_count integer NOT NULL DEFAULT 0,
                embedded_texts integer NOT NULL DEFAULT 0,
                cache_hits integer NOT NULL DEFAULT 0,
                embedding_requests integer NOT NULL DEFAULT 0,
                template_count integer NOT NULL DEFAULT 0,
                tokens bigint,
                quarantined_count integer NOT NULL DEFAULT 0,
                error text,
                host text NOT NULL DEFAULT ''
            );

            CREATE TABLE snapshot_publications (
                generation bigint PRIMARY KEY,
                version_id bigint NOT NULL,
                template_count integer NOT NULL,
                path text NOT NULL,
                published_at timestamptz NOT NULL
            );

            CREATE TABLE quarantined_templates (
                version_id bigint NOT NULL REFERENCES embedding_versions (id) ON DELETE CASCADE,
                template_id text NOT NULL,
                input_hash text NOT NULL,
                reason text NOT NULL,
                since timestamptz NOT NULL,
                PRIMARY KEY (version_id, template_id)
            );
            """),
        Migration(id: "v2-publication-store-generation", sql: """
            -- The store generation a snapshot shows: the file is stale once the store moved past it.
            ALTER TABLE snapshot_publications ADD COLUMN store_generation bigint NOT NULL DEFAULT 0;
            """),
        Migration(id: "v3-skipped-rows", sql: """
            -- The rows a sync left out for a problem of their own, as a JSON array of
            -- {row, column, code, message}.
            ALTER TABLE sync_runs ADD COLUMN skipped_rows text NOT NULL DEFAULT '[]';
            """),
        Migration(id: "v4-sync-changes", sql: """
            -- The templates each sync touched (new, modified, metadata_only, deleted), kept for
            -- the last SYNC_HISTORY runs: what the FAQ team's page shows.
            CREATE TABLE sync_changes (
                run_id bigint NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
                position integer NOT NULL,
                template_id text NOT NULL,
                question text NOT NULL,
                kind text NOT NULL,
                PRIMARY KEY (run_id, position)
            );
            """),
        Migration(id: "v5-hybrid-weight", sql: """
            -- Hybrid search's dense weight, recorded with the version that it was measured for.
            ALTER TABLE embedding_versions ADD COLUMN hybrid_dense_weight real;
            """),
        Migration(id: "v6-settings-fingerprint", sql: """
            -- What decided how the file was read and embedded (model, model input, column names,
            -- sheet), hashed: the same bytes under the same settings sync to the same result.
            ALTER TABLE sync_runs ADD COLUMN settings_sha256 text;
            """),
        Migration(id: "v7-version-template-count", sql: """
            -- Each version's template count, kept by the transaction that changes its templates:
            -- reading the versions (several times per sync) no longer counts 100,000 rows.
            ALTER TABLE embedding_versions ADD COLUMN template_count integer NOT NULL DEFAULT 0;
            UPDATE embedding_versions v SET template_count = (SELECT count(*) FROM templates t WHERE t.version_id = v.id);
            """),
    ]

    /// Applies what is missing; refuses a database migrated by a newer faqsync.
    static func migrate(_ connection: PostgresConnection, location: String) throws {
        try connection.transaction {
            try connection.execute("SELECT pg_advisory_xact_lock($1)", [.integer(migrationLockKey)])
            try connection.executeScript("""
                CREATE TABLE IF NOT EXISTS faqsync_migrations (
                    id text PRIMARY KEY,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """)
            let result = try connection.execute("SELECT id FROM faqsync_migrations")
            let applied = Set((0..<result.rowCount).map { result.string($0, 0) })
            let unknown = applied.subtracting(migrations.map(\.id))
            guard unknown.isEmpty else {
                throw StoreError(code: .newerSchema, location: location,
                                 message: "the database was migrated by a newer faqsync (migrations \(unknown.sorted().joined(separator: ", ")) are unknown to this version)",
                                 hint: "upgrade faqsync on this host; this version will not modify it")
            }
            for migration in migrations where !applied.contains(migration.id) {
                try connection.executeScript(migration.sql)
                try connection.execute("INSERT INTO faqsync_migrations (id) VALUES ($1)", [.text(migration.id)])
            }
        }
    }
}
