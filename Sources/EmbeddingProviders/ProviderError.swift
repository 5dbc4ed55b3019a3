import CodedErrors
import Redaction

/// A provider call that failed, naming the endpoint, the HTTP status and the provider's own
/// words, and saying what to check. It never contains the API key.
package struct EmbeddingProviderError: Error, CustomStringConvertible, Sendable {
    package enum Code: String, Sendable {
        case unauthorized, forbidden, notFound = "not-found", badRequest = "bad-request", rejected
        case retriesExhausted = "retries-exhausted", invalidResponse = "invalid-response", unexpectedStatus = "unexpected-status"
    }

    package let code: Code
    package let endpoint: String
    package let status: Int?
    package let providerMessage: String?
    /// What to check (always given; optional only as `CodedError` declares it).
    package let hint: String?

    package init(code: Code, endpoint: String, status: Int?, providerMessage: String?, hint: String) {
        self.code = code
        // Masked here too, whoever built the error: it is shown everywhere.
        self.endpoint = Redaction.redact(endpoint)
        self.status = status
        self.providerMessage = providerMessage.map { Redaction.bounded($0) }
        self.hint = hint
    }

    package var description: String {
        var text = "embedding provider \(endpoint)"
        if let status { text += " answered HTTP \(status)" }
        if let providerMessage, !providerMessage.isEmpty { text += ": \(providerMessage.prefix(500))" }
        return text + ". \(hint ?? "")"
    }
}

extension EmbeddingProviderError: CodedError {
    package var errorCode: String { "embedding-\(code.rawValue)" }
}
