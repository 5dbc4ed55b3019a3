/// What a sync did, as numbers and per template. Declared here, beside the plan they start from,
/// because everything above it carries them: the sync's report, the store's audit rows and the
/// public documents (`sync --json`, `status --json`, `GET /v1/syncs`).

/// What one sync counted: the one declaration that the sync's report, the store's `sync_runs`
/// row and the public documents (`sync --json`, `status --json`, `/v1/syncs`) all carry.
package struct SyncCounts: Sendable, Codable, Hashable {
    package var new = 0
    package var modified = 0
    package var metadataOnly = 0
    package var deleted = 0
    package var unchanged = 0
    /// Distinct texts sent to the model.
    package var embeddedTexts = 0
    /// Distinct texts whose vector came from the cache instead.
    package var cacheHits = 0
    package var embeddingRequests = 0
    /// Tokens the provider reported, when it reports usage.
    package var tokens: Int?

    package init() {}

    /// The names every document uses for them (flattened into the document that carries them).
    enum CodingKeys: String, CodingKey {
        case new, modified, metadataOnly = "metadata_only", deleted, unchanged, embeddedTexts = "embedded_texts"
        case cacheHits = "cache_hits", embeddingRequests = "embedding_requests", tokens
    }
}

/// One template a sync touched, as the FAQ team's page and `status` list it.
package struct SyncChange: Sendable, Hashable, Codable {
    package enum Kind: String, Sendable, Codable, CaseIterable {
        case new, modified, metadataOnly = "metadata_only", deleted
    }

    package let templateID: String
    package let question: String
    package let kind: Kind

    package init(templateID: String, question: String, kind: Kind) {
        self.templateID = templateID
        self.question = question
        self.kind = kind
    }

    enum CodingKeys: String, CodingKey { case templateID = "template_id", question, kind }
}
