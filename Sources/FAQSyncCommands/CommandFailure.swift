import ArgumentParser
import Foundation
import Settings
import Reconciliation
import SpreadsheetReading
import TemplateStore
import Embedding
import EmbeddingProviders
import SnapshotFormat
import SnapshotReader
import SyncEngine
import InProcessModel
import Redaction
import RetrievalServer

/// Prints an error the way every subcommand does and exits with 1: a line on stderr naming what
/// failed, and with `--json` a JSON object on stdout, so scripts get a reason too.
enum CommandFailure {
    struct Payload: Encodable {
        struct Body: Encodable {
            let code: String
            let message: String
        }
        let error: Body
    }

    static func exit(_ error: any Error, json: Bool) -> ExitCode {
        let code: String
        switch error {
        case let error as SpreadsheetError: code = error.code.rawValue
        case let error as StoreError: code = error.code.rawValue
        case is EmbeddingError: code = "embedding-failed"
        case let error as EmbeddingProviderError: code = "embedding-\(error.code.rawValue)"
        case is ConfigurationError: code = "configuration"
        case is CancellationError: code = "cancelled"
        case let error as SnapshotError: code = "snapshot-\(error.code.rawValue)"
        case is SearchError: code = "search"
        case is PublicationFailure: code = "publication-failed"
        case is CutOverRefused: code = "cut-over-refused"
        case let error as ModelError: code = error.code.rawValue
        case let error as HTTPServerError: code = error.code
        default: code = "failed"
        }
        // Masked whatever the error quotes: a URL with its password, a provider's echo of a key.
        let message = Redaction.redact("\(error)")
        Terminal.writeError("faqsync: error [\(code)]: \(message)\n")
        if json { try? JSONOutput.print(Payload(error: .init(code: code, message: message))) }
        return ExitCode(1)
    }
}

/// Every command's body runs in this: an error becomes `CommandFailure.exit` (a coded line on
/// stderr, a JSON object with `--json`, exit 1); an `ExitCode` the command chose passes through.
func withFailureHandling(json: Bool, _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        throw CommandFailure.exit(error, json: json)
    }
}
