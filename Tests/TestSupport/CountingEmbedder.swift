import Embedding
import Synchronization

/// Wraps an embedder and counts what is sent to it, so tests assert exact embedding costs.
package final class CountingEmbedder: Embedder {
    package let base: any Embedder
    package let model: ModelIdentity
    package var preferredBatchSize: Int { base.preferredBatchSize }
    package var hybridDenseWeight: Float { base.hybridDenseWeight }
    private let counts = Mutex((requests: 0, texts: 0))
    /// Fail the request after this many have succeeded (nil: never).
    private let failAfter: Int?

    package init(_ base: any Embedder, model: ModelIdentity? = nil, failAfterRequests: Int? = nil) {
        self.base = base
        self.model = model ?? base.model
        self.failAfter = failAfterRequests
    }

    package var requests: Int { counts.withLock { $0.requests } }
    package var texts: Int { counts.withLock { $0.texts } }

    package func reset() { counts.withLock { $0 = (0, 0) } }

    package struct InjectedFailure: Error {}

    package func embed(_ texts: [String], as role: EmbeddingRole) async throws -> [[Float]] {
        let proceed = counts.withLock { state -> Bool in
            if let failAfter, state.requests >= failAfter { return false }
            state.requests += 1
            state.texts += texts.count
            return true
        }
        guard proceed else { throw InjectedFailure() }
        return try await base.embed(texts, as: role)
    }
}
