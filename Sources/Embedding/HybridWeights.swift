/// How much hybrid search trusts a model's cosine against BM25: the one place this is decided.
///
/// Hybrid search normalises both rankings per query over their candidates (the best becomes 1,
/// the worst candidate 0) and ranks by `w × dense + (1 − w) × lexical`. A model whose cosines
/// spread widely (the local embedder) and one whose cosines for a query sit within a few
/// hundredths of each other (e5) need different `w`: a weight tuned on one made the other worse.
/// So `w` belongs to the model version: chosen here by measurement for each model the project
/// ships, recorded with the version in the store and in each snapshot header, and shown by
/// `faqsync snapshot show`. The figures and the query sets they were chosen on are in docs/retrieval.md
/// ("Search modes"); `Tests/SnapshotTests/SearchModeTests.swift` holds them.
package enum HybridWeights {
    package static let range: ClosedRange<Float> = 0...1
    /// For a model nobody measured: both sides count the same.
    package static let unmeasured: Float = 0.5

    /// Measured dense weights by model name.
    package static let measured: [String: Float] = [
        LocalHashingEmbedder.modelName: 0.5,
        "multilingual-e5-small": 0.8,
    ]

    package static func denseWeight(forModelNamed name: String) -> Float {
        measured[name] ?? unmeasured
    }
}
