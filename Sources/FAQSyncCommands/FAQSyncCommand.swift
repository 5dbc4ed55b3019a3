import ArgumentParser
import Settings

/// `faqsync`: keeps the embeddings of an FAQ spreadsheet's templates in a store, paying only for
/// what changed.
package struct FAQSyncCommand: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "faqsync",
        abstract: "Keep an FAQ spreadsheet's template embeddings stored and up to date.",
        discussion: """
            Settings come from flags, then the environment (FAQ_PATH, SQLITE_DB_PATH, EMBEDDING_*; see etc/faqsync.env), \
            then the defaults: the sample spreadsheet data/faq-sample.xlsx and the store data/faqsync.db.
            """,
        version: FAQSyncVersion.current,
        subcommands: [Sync.self, Watch.self, Inspect.self, Query.self, Eval.self, Serve.self, Status.self, Versions.self, Snapshot.self, Store.self, ImportLegacy.self, SettingsReference.self]
    )

    package init() {}
}
