import Foundation

/// The original Python system's flags, which people bring with them: instead of ArgumentParser's
/// bare "Unknown option", each says what faqsync does instead (docs/migrating.md has the table).
enum LegacyFlags {
    static let replacements: [String: String] = [
        "--incremental": "every sync is incremental: run `faqsync sync`",
        "--list-versions": "run `faqsync versions`",
        "--set-version": "run `faqsync versions set ID`",
        "--clean-old-versions": "run `faqsync versions clean`",
        "--storage-backend": "pass `--store sqlite|postgres` (or set STORAGE_BACKEND)",
        "--sqlite-path": "pass `--db PATH` (or set SQLITE_DB_PATH)",
        "--postgres-dsn": "set DATABASE_URL (or the POSTGRES_* settings)",
        "--faq-path": "pass `--faq PATH` (or set FAQ_PATH)",
        "--batch-size": "set EMBEDDING_BATCH_SIZE",
    ]

    /// The hint for the first legacy flag among `arguments` (as `--flag` or `--flag=value`), if any.
    static func hint(for arguments: [String]) -> String? {
        for argument in arguments {
            let flag = String(argument.prefix { $0 != "=" })
            if let replacement = replacements[flag] {
                return "faqsync: '\(flag)' is the original system's flag; with faqsync, \(replacement) (docs/migrating.md maps every flag and setting)"
            }
        }
        return nil
    }
}
