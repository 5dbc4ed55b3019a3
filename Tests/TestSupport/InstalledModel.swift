import Embedding
import InProcessModel

/// The in-process model where scripts/install-deps.sh (or the Debian package) put it. The test
/// script installs it, so tests that need it fail, not skip, when it is missing.
package enum InstalledModel {
    package static func embedder() throws -> MultilingualE5Embedder {
        let files = try ModelFiles.locate(engine: nil, weights: nil, directory: nil)
        return MultilingualE5Embedder(engine: try E5Engine(files: files))
    }

    /// The directory the files were found in (for the reference comparison in Python).
    package static func packageDirectory() throws -> String {
        let files = try ModelFiles.locate(engine: nil, weights: nil, directory: nil)
        return String(files.weights.dropLast(ModelFiles.weightsFileName.count + 1))
    }
}
