import Embedding

/// multilingual-e5-small in the process (the default embedder): Russian and English questions
/// and templates, 384 dimensions, no network.
///
/// e5 is asymmetric: templates are embedded as `passage: …`, customers' questions as `query: …`
/// (the engine adds the prefixes). The model version names the weights (the first 12 hex digits
/// of their SHA-256) and that prefix scheme, so other weights or other prefixes are another
/// version, built beside the old one.
package struct MultilingualE5Embedder: Embedder {
    package static let modelName = "multilingual-e5-small"
    /// The engine's prefixes: `query: ` and `passage: `. A scheme that changes them changes this.
    package static let prefixScheme = "qp"

    package let engine: E5Engine
    package let model: ModelIdentity
    package let preferredBatchSize: Int

    package init(engine: E5Engine, batchSize: Int = 32) {
        self.engine = engine
        model = ModelIdentity(name: Self.modelName, version: Self.version(weightsSHA256: engine.weightsSHA256), dimension: engine.dimension)
        preferredBatchSize = batchSize
    }

    package static func version(weightsSHA256: String) -> String {
        "q4-\(weightsSHA256.prefix(12))-\(prefixScheme)"
    }

    package func embed(_ texts: [String], as role: EmbeddingRole) async throws -> [[Float]] {
        let vectors = try await engine.embed(texts, isQuery: role == .query)
        try EmbeddingValidation.validate(vectors, inputs: texts.count, model: model)
        return vectors
    }
}
