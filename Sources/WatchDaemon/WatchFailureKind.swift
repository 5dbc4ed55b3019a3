import SnapshotFormat
import SpreadsheetReading
import TemplateStore

/// How a failed sync should be handled.
package enum WatchFailureKind: Sendable, Equatable {
    /// The file is bad (wrong header, empty question, duplicate identity): wait for the next save.
    case badFile
    /// The file is still cut off after the check gave it its settle time: wait for the next save,
    /// reported as a cut-off save rather than as bad content.
    case incompleteFile
    /// The store (or the snapshot format) refused the change: retrying the same content cannot
    /// succeed, so wait for the next save or SIGHUP.
    case permanent
    /// The model API or the store failed: retry with backoff.
    case transient

    /// Bad files and files that stay cut off wait for the next save (a half-saved file was already
    /// given its settle time by the check before the sync); a store that refuses the change waits
    /// too (retrying it unchanged cannot help); the rest is retried.
    package init(classifying error: any Error) {
        switch error {
        case let error as SpreadsheetError: self = error.mayBeIncompleteSave ? .incompleteFile : .badFile
        case let error as StoreError where !error.isTransient: self = .permanent
        case let error as SnapshotError where error.code == .tooLarge: self = .permanent
        default: self = .transient
        }
    }
}
