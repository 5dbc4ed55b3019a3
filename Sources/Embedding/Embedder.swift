/// Turns texts into vectors. Implementations: `LocalHashingEmbedder` (here), the HTTP providers.
///
/// A batch call returns one vector per input, in input order, each of `model.dimension` finite
/// values. Callers validate that with `EmbeddingValidation` rather than trusting a remote model.
package protocol Embedder: Sendable {
    var model: ModelIdentity { get }
    /// The most texts one `embed` call should carry.
    var preferredBatchSize: Int { get }
    func embed(_ texts: [String]) async throws -> [[Float]]
}

/// A response that does not fit the request.
package struct EmbeddingError: Error, CustomStringConvertible, Sendable {
    package let model: ModelIdentity
    package let message: String

    package init(model: ModelIdentity, message: String) {
        self.model = model
        self.message = message
    }

    package var description: String { "embedding model \(model): \(message)" }
}

package enum EmbeddingValidation {
    /// Checks count, dimension and finiteness, so that a bad response is never stored.
    package static func validate(_ vectors: [[Float]], inputs: Int, model: ModelIdentity) throws {
        guard vectors.count == inputs else {
            throw EmbeddingError(model: model, message: "returned \(vectors.count) vectors for \(inputs) inputs")
        }
        for (index, vector) in vectors.enumerated() {
            guard vector.count == model.dimension else {
                throw EmbeddingError(model: model, message: "vector \(index) has \(vector.count) values, expected \(model.dimension)")
            }
            guard vector.allSatisfy(\.isFinite) else {
                throw EmbeddingError(model: model, message: "vector \(index) contains a NaN or infinite value")
            }
        }
    }
}
