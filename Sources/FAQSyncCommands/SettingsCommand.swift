import ArgumentParser
import Settings

extension FAQSyncCommand {
    /// `faqsync settings`: every setting with its flag, default and meaning, as Markdown (the
    /// text of docs/configuration.md). Reads no setting and opens nothing.
    struct SettingsReference: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "settings",
            abstract: "Print every setting (environment variable) with its flag, default and meaning, as Markdown.",
            discussion: "The same text as docs/configuration.md.")

        func run() {
            print(SettingsCatalog.markdown(), terminator: "")
        }
    }
}
