import Embedding
import Reconciliation
import TemplateStore

/// Embeds the FAQ team's check questions once per model: their query vectors are kept in the
/// store's embedding cache, keyed by the role and the text (a key no template's text can have),
/// so the checks after a sync that changed nothing cost nothing, with a paid API too.
struct CachedQueryEmbedder: Embedder {
    let base: any Embedder
    let store: any TemplateStore

    var model: ModelIdentity { base.model }
    var preferredBatchSize: Int { base.preferredBatchSize }
    var hybridDenseWeight: Float { base.hybridDenseWeight }

    static func key(_ text: String, role: EmbeddingRole) -> String { ContentHash.fields(["faqsync-\(role.rawValue)", text]) }

    func embed(_ texts: [String], as role: EmbeddingRole) async throws -> [[Float]] {
        let keys = texts.map { Self.key($0, role: role) }
        var vectors = try await store.cachedVectors(model: model, inputHashes: Array(Set(keys)))
        var missing: [(key: String, text: String)] = []
        var seen = Set<String>()
        for (key, text) in zip(keys, texts) where vectors[key] == nil && seen.insert(key).inserted { missing.append((key, text)) }
        if !missing.isEmpty {
            let fresh = try await base.embed(missing.map(\.text), as: role)
            try EmbeddingValidation.validate(fresh, inputs: missing.count, model: model)
            try await store.cache(model: model, vectors: zip(missing, fresh).map { (inputHash: $0.key, vector: $1) })
            for (entry, vector) in zip(missing, fresh) { vectors[entry.key] = vector }
        }
        return try keys.map { key in
            guard let vector = vectors[key] else { throw EmbeddingError(model: model, message: "no vector for a check's question") }
            return vector
        }
    }
}
