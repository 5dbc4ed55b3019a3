import ArgumentParser

/// Options every subcommand takes, so a command line carries over between them. Declared without
/// defaults: an unset flag falls back to the environment, then to the built-in default.
public struct CommonOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The FAQ spreadsheet, .xlsx or .csv (env FAQ_PATH).", valueName: "path"))
    public var faq: String?

    @Option(help: ArgumentHelp("The store backend, sqlite or postgres (env STORAGE_BACKEND; default sqlite).", valueName: "backend"))
    public var store: String?

    @Option(help: ArgumentHelp("The SQLite store (env SQLITE_DB_PATH; default data/faqsync.db, or $STATE_DIRECTORY/faqsync.db under systemd).", valueName: "path"))
    public var db: String?

    @Option(help: ArgumentHelp("The snapshot file retrieval processes map (env SNAPSHOT_PATH; default data/faqsync.snapshot, or $RUNTIME_DIRECTORY/faqsync.snapshot under systemd).", valueName: "path"))
    public var snapshot: String?

    @Flag(help: "Print one JSON object instead of text.")
    public var json = false

    public init() {}

    func configuration() throws -> FAQSyncConfiguration {
        try FAQSyncConfiguration(options: self)
    }
}
