import ArgumentParser
import Foundation
import CodedErrors
import Redaction

/// Prints an error the way every subcommand does and exits with 1: a line on stderr naming what
/// failed, and with `--json` a JSON object on stdout, so scripts get a reason too.
enum CommandFailure {
    struct Payload: Encodable {
        struct Body: Encodable {
            let code: String
            let message: String
            let hint: String?
        }
        let error: Body
    }

    static func exit(_ error: any Error, json: Bool) -> ExitCode {
        let coded = error as? any CodedError
        let code = coded?.errorCode ?? (error is CancellationError ? "cancelled" : "failed")
        // Masked whatever the error quotes: a URL with its password, a provider's echo of a key.
        let message = Redaction.redact("\(error)")
        Terminal.writeError("faqsync: error [\(code)]: \(message)\n")
        if json { try? JSONOutput.print(Payload(error: .init(code: code, message: message, hint: coded?.hint.map { Redaction.redact($0) }))) }
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
