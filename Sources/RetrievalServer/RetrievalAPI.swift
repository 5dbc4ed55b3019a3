import SnapshotReader

/// `POST /v1/search` body.
struct SearchRequest: Decodable {
    let query: String
    let k: Int?
    let category: String?
    let subcategory: String?
    let minScore: Float?
    /// hybrid (default), dense or lexical; an unknown value is a 400.
    let mode: SearchMode?

    enum CodingKeys: String, CodingKey { case query, k, category, subcategory, minScore = "min_score", mode }
}

struct TemplateResponse: Encodable {
    let generation: UInt64
    let template: SearchHit
}

struct HealthResponse: Encodable {
    let status: String
    let generation: UInt64?
    let model: String?
    let templates: Int?
    let reason: String?
}

struct ErrorResponse: Encodable {
    struct Body: Encodable {
        let status: Int
        let reason: String
    }
    let error: Body
    let generation: UInt64?
}
