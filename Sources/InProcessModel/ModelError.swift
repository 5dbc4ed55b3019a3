import CodedErrors
/// Why the in-process model could not be used: a code for scripts and the log, what failed,
/// where, and what to do.
package struct ModelError: Error, CustomStringConvertible, Sendable {
    package enum Code: String, Sendable {
        /// No engine or weights where the configuration or the install puts them.
        case notInstalled = "model-not-installed"
        /// The engine library would not load, or lacks a function faqsync calls.
        case engineUnusable = "model-engine-unusable"
        /// The weights file is not a regular readable file, or its hash is not one faqsync trusts.
        case weightsRefused = "model-weights-refused"
        /// The engine refused the weights or a batch.
        case engineFailed = "model-engine-failed"
    }

    package let code: Code
    package let path: String?
    package let message: String
    package let remedy: String

    package init(code: Code, path: String?, message: String, remedy: String) {
        self.code = code
        self.path = path
        self.message = message
        self.remedy = remedy
    }

    package var description: String {
        "\(code.rawValue): \(message)\(path.map { " (\($0))" } ?? ""). \(remedy)"
    }

    /// The one sentence every "model missing" message ends with.
    package static let installRemedy = "Install it with `sudo bash scripts/install-deps.sh` (or the faqsync Debian package), name its files with EMBEDDING_MODEL_DIR, or choose the model-free embedder with EMBEDDING_PROVIDER=local."
}

extension ModelError: CodedError {
    package var errorCode: String { code.rawValue }
    package var hint: String? { remedy }
}
