import GRDB

/// The SQLite schema as versioned migrations. Append a migration; never edit a shipped one.
enum SQLiteSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-versions-templates-cache-runs") { db in
            try db.execute(sql: """
                CREATE TABLE embedding_versions (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    model_name TEXT NOT NULL,
                    model_version TEXT NOT NULL,
                    dimension INTEGER NOT NULL CHECK (dimension > 0),
                    is_current INTEGER NOT NULL DEFAULT 0 CHECK (is_current IN (0, 1)),
                    created_at TEXT NOT NULL,
                    UNIQUE (model_name, model_version, dimension)
                );
                -- At most one current version, enforced by the database rather than by discipline.
                CREATE UNIQUE INDEX embedding_versions_one_current ON embedding_versions (is_current) WHERE is_current = 1;

                CREATE TABLE templates (
                    version_id INTEGER NOT NULL REFERENCES embedding_versions (id) ON DELETE CASCADE,
                    template_id TEXT NOT NULL,
                    category TEXT NOT NULL,
                    subcategory TEXT NOT NULL,
                    question TEXT NOT NULL,
                    answer TEXT NOT NULL,
                    metadata TEXT NOT NULL DEFAULT '[]',
                    input_hash TEXT NOT NULL,
                    content_hash TEXT NOT NULL,
                    vector BLOB NOT NULL,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL,
                    PRIMARY KEY (version_id, template_id)
                ) WITHOUT ROWID;
                -- Planning reads only identities and hashes; this covering index keeps that (and
                -- counting) off the table's pages, which are mostly 4 KB vectors.
                CREATE INDEX templates_plan ON templates (version_id, template_id, input_hash, content_hash);

                -- Content-addressed: (model, hash of the embedded text) -> vector.
                CREATE TABLE embedding_cache (
                    model_name TEXT NOT NULL,
                    model_version TEXT NOT NULL,
                    dimension INTEGER NOT NULL,
                    text_hash TEXT NOT NULL,
                    vector BLOB NOT NULL,
                    created_at TEXT NOT NULL,
                    PRIMARY KEY (model_name, model_version, dimension, text_hash)
                ) WITHOUT ROWID;

                CREATE TABLE sync_runs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    started_at TEXT NOT NULL,
                    finished_at TEXT NOT NULL,
                    source_path TEXT NOT NULL,
                    source_sha256 TEXT,
                    version_id INTEGER,
                    outcome TEXT NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
                    new_count INTEGER NOT NULL DEFAULT 0,
                    modified_count INTEGER NOT NULL DEFAULT 0,
                    metadata_only_count INTEGER NOT NULL DEFAULT 0,
                    deleted_count INTEGER NOT NULL DEFAULT 0,
                    unchanged_count INTEGER NOT NULL DEFAULT 0,
                    embedded_texts INTEGER NOT NULL DEFAULT 0,
                    cache_hits INTEGER NOT NULL DEFAULT 0,
                    embedding_requests INTEGER NOT NULL DEFAULT 0,
                    template_count INTEGER NOT NULL DEFAULT 0,
                    error TEXT
                );
                """)
        }
        migrator.registerMigration("v2-snapshot-publications") { db in
            try db.execute(sql: """
                -- Every snapshot file published from this store. Generations only grow, even when
                -- the file itself is deleted, because the next one starts above the last row here.
                CREATE TABLE snapshot_publications (
                    generation INTEGER PRIMARY KEY,
                    version_id INTEGER NOT NULL,
                    template_count INTEGER NOT NULL,
                    path TEXT NOT NULL,
                    published_at TEXT NOT NULL
                );
                """)
        }
        migrator.registerMigration("v3-quarantine-and-tokens") { db in
            try db.execute(sql: """
                -- Templates whose model input the provider rejected on its own (too long, say): they
                -- keep their previous stored state, or are left out if new, until their text changes.
                CREATE TABLE quarantined_templates (
                    version_id INTEGER NOT NULL REFERENCES embedding_versions (id) ON DELETE CASCADE,
                    template_id TEXT NOT NULL,
                    input_hash TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    since TEXT NOT NULL,
                    PRIMARY KEY (version_id, template_id)
                );
                ALTER TABLE sync_runs ADD COLUMN tokens INTEGER;
                ALTER TABLE sync_runs ADD COLUMN quarantined_count INTEGER NOT NULL DEFAULT 0;
                """)
        }
        migrator.registerMigration("v4-store-generation") { db in
            try db.execute(sql: """
                -- Moved on by every committed change of templates or of the current version; a
                -- snapshot records the generation it shows, so a stale one is told by comparing.
                CREATE TABLE store_state (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    generation INTEGER NOT NULL DEFAULT 0
                );
                INSERT INTO store_state (id, generation) VALUES (1, 0);
                ALTER TABLE snapshot_publications ADD COLUMN store_generation INTEGER NOT NULL DEFAULT 0;
                """)
        }
        migrator.registerMigration("v5-skipped-rows") { db in
            try db.execute(sql: """
                -- The rows a sync left out for a problem of their own, as a JSON array of
                -- {row, column, code, message}.
                ALTER TABLE sync_runs ADD COLUMN skipped_rows TEXT NOT NULL DEFAULT '[]';
                """)
        }
        migrator.registerMigration("v6-sync-changes") { db in
            try db.execute(sql: """
                -- The templates each sync touched (new, modified, metadata_only, deleted), kept for
                -- the last SYNC_HISTORY runs: what the FAQ team's page shows.
                CREATE TABLE sync_changes (
                    run_id INTEGER NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
                    template_id TEXT NOT NULL,
                    question TEXT NOT NULL,
                    kind TEXT NOT NULL
                );
                CREATE INDEX sync_changes_run ON sync_changes (run_id);
                """)
        }
        migrator.registerMigration("v7-hybrid-weight") { db in
            try db.execute(sql: """
                -- Hybrid search's dense weight, recorded with the version that it was measured for.
                ALTER TABLE embedding_versions ADD COLUMN hybrid_dense_weight REAL;
                """)
        }
        migrator.registerMigration("v8-settings-fingerprint") { db in
            try db.execute(sql: """
                -- What decided how the file was read and embedded (model, model input, column names,
                -- sheet), hashed: the same bytes under the same settings sync to the same result.
                ALTER TABLE sync_runs ADD COLUMN settings_sha256 TEXT;
                """)
        }
        migrator.registerMigration("v9-version-template-count") { db in
            try db.execute(sql: """
                -- Each version's template count, kept by the transaction that changes its templates:
                -- reading the versions (several times per sync) no longer counts 100,000 rows.
                ALTER TABLE embedding_versions ADD COLUMN template_count INTEGER NOT NULL DEFAULT 0;
                UPDATE embedding_versions SET template_count = (SELECT COUNT(*) FROM templates t WHERE t.version_id = embedding_versions.id);
                """)
        }
        return migrator
    }
}
