import CodedErrors
/// What a text is to the model. Many current models are asymmetric: they were trained with
/// questions and documents marked differently (e5's `query: ` / `passage: `, nomic's
/// `search_query: ` / `search_document: `, APIs' `input_type`), and rank worse when both sides
/// are embedded alike. Every call says which side its texts are on; a symmetric model ignores it.
package enum EmbeddingRole: String, Sendable, Codable, CaseIterable {
    /// A customer's question, embedded to search with.
    case query
    /// A template, embedded to be found.
    case passage
}

/// Turns texts into vectors. Implementations: `LocalHashingEmbedder` (here), the in-process
/// model (`InProcessModel`), the HTTP providers.
///
/// A batch call returns one vector per input, in input order, each of `model.dimension` finite
/// values. Callers validate that with `EmbeddingValidation` rather than trusting a model.
package protocol Embedder: Sendable {
    var model: ModelIdentity { get }
    /// The most texts one `embed` call should carry.
    var preferredBatchSize: Int { get }
    /// How hybrid search weighs this model's cosine against BM25, measured for the model
    /// (`HybridWeights`); recorded with each model version and in its snapshots.
    var hybridDenseWeight: Float { get }
    func embed(_ texts: [String], as role: EmbeddingRole) async throws -> [[Float]]
}

extension Embedder {
    package var hybridDenseWeight: Float { HybridWeights.denseWeight(forModelNamed: model.name) }
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

extension EmbeddingError: CodedError {
    package var errorCode: String { "embedding-failed" }
}
