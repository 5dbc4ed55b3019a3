import Foundation
import SpreadsheetReading
import TemplateStore
import Testing
import WatchDaemon

/// Which failed syncs wait for the next save and which are retried: decided beside the policy.
@Suite("failure kinds")
struct WatchFailureKindTests {
    static func spreadsheet(_ code: SpreadsheetError.Code) -> SpreadsheetError {
        SpreadsheetError(code: code, file: "faq.xlsx", message: "m", remedy: "r")
    }

    @Test func aBadFileWaitsACutOffOneMayBeHalfSavedAStoreRefusalWaitsTheRestIsRetried() {
        #expect(WatchFailureKind(classifying: Self.spreadsheet(.headerNotFound)) == .badFile)
        #expect(WatchFailureKind(classifying: Self.spreadsheet(.truncated)) == .incompleteFile)
        #expect(WatchFailureKind(classifying: Self.spreadsheet(.notAZip)) == .incompleteFile)
        #expect(WatchFailureKind(classifying: StoreError(code: .rejected, location: "db", message: "m")) == .permanent)
        #expect(WatchFailureKind(classifying: StoreError(code: .connectionFailed, location: "db", message: "m")) == .transient)
        #expect(WatchFailureKind(classifying: URLError(.timedOut)) == .transient)
    }
}
