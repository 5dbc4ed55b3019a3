/// The outcome of embedding one batch through a provider that can reject single inputs.
package struct EmbeddingBatchResult: Sendable {
    /// One entry per input: the vector, or nil when the provider rejected that input.
    package var vectors: [[Float]?]
    /// Why inputs were rejected, by input position (the provider's own words).
    package var rejections: [Int: String]
    /// HTTP requests (or calls) made, retries and split batches included.
    package var requests: Int
    /// Tokens the provider reported using, when it reports them.
    package var tokens: Int?

    package init(vectors: [[Float]?], rejections: [Int: String] = [:], requests: Int = 1, tokens: Int? = nil) {
        self.vectors = vectors
        self.rejections = rejections
        self.requests = requests
        self.tokens = tokens
    }
}

/// An embedder that reports per-input rejections and its costs. HTTP providers implement it;
/// every other embedder gets it from `embed` (all accepted, one call).
package protocol BatchEmbedder: Embedder {
    func embedBatch(_ texts: [String], as role: EmbeddingRole) async throws -> EmbeddingBatchResult
}

extension Embedder {
    /// `embedBatch` when the embedder has it, otherwise one `embed` call that accepts everything.
    package func embedReportingCosts(_ texts: [String], as role: EmbeddingRole) async throws -> EmbeddingBatchResult {
        if let batching = self as? any BatchEmbedder { return try await batching.embedBatch(texts, as: role) }
        return EmbeddingBatchResult(vectors: try await embed(texts, as: role).map { Optional($0) })
    }
}
