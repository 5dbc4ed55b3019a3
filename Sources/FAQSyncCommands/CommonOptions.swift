import ArgumentParser
import Settings

/// Options every subcommand takes, so a command line carries over between them. Declared without
/// defaults: an unset flag falls back to the environment, then to the built-in default.
package struct CommonOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The FAQ spreadsheet, .xlsx or .csv (env FAQ_PATH).", valueName: "path"))
    package var faq: String?

    @Option(help: ArgumentHelp("The store backend, sqlite or postgres (env STORAGE_BACKEND; default sqlite).", valueName: "backend"))
    package var store: String?

    @Option(help: ArgumentHelp("The SQLite store (env SQLITE_DB_PATH; default data/faqsync.db, or $STATE_DIRECTORY/faqsync.db under systemd).", valueName: "path"))
    package var db: String?

    @Option(help: ArgumentHelp("The snapshot file retrieval processes map (env SNAPSHOT_PATH; default data/faqsync.snapshot, or $RUNTIME_DIRECTORY/faqsync.snapshot under systemd).", valueName: "path"))
    package var snapshot: String?

    @Flag(help: "Print one JSON object instead of text.")
    package var json = false

    package init() {}

    func configuration() throws -> FAQSyncConfiguration {
        try FAQSyncConfiguration(options: .init(faq: faq, store: store, db: db, snapshot: snapshot))
    }
}
