import Foundation

/// How one kind of server wants an embedding request and shapes its answer.
package protocol EmbeddingWireFormat: Sendable {
    var name: String { get }
    /// The path appended to the base URL.
    var path: String { get }
    /// `inputType`: the API's `input_type` for these inputs (query or passage), nil to send none.
    func requestBody(model: String, inputs: [String], dimensions: Int?, inputType: String?) throws -> Data
    /// Vectors in input order, and tokens used if reported. Throws a description of what is wrong.
    func parse(_ body: Data, inputCount: Int) throws(ResponseShapeError) -> (vectors: [[Float]], tokens: Int?)
}

package struct ResponseShapeError: Error, Sendable {
    package let message: String
    package init(_ message: String) { self.message = message }
}

/// OpenAI's `/embeddings`, also spoken by vLLM, text-embeddings-inference, Infinity, LiteLLM,
/// LM Studio, llama.cpp's server and most hosted gateways.
package struct OpenAIWireFormat: EmbeddingWireFormat {
    package init() {}
    package var name: String { "openai" }
    package var path: String { "/embeddings" }

    struct Request: Encodable {
        let model: String
        let input: [String]
        let dimensions: Int?
        let encoding_format = "float"
        /// Omitted when nil (the synthesised encoder skips nil optionals).
        let input_type: String?
    }

    struct Response: Decodable {
        struct Item: Decodable {
            let index: Int
            let embedding: [Double]
        }
        struct Usage: Decodable {
            let prompt_tokens: Int?
            let total_tokens: Int?
        }
        let data: [Item]
        let usage: Usage?
    }

    package func requestBody(model: String, inputs: [String], dimensions: Int?, inputType: String?) throws -> Data {
        try JSONEncoder().encode(Request(model: model, input: inputs, dimensions: dimensions, input_type: inputType))
    }

    package func parse(_ body: Data, inputCount: Int) throws(ResponseShapeError) -> (vectors: [[Float]], tokens: Int?) {
        let response: Response
        do { response = try JSONDecoder().decode(Response.self, from: body) } catch {
            throw ResponseShapeError("the body is not an OpenAI embeddings response (\(JSONShape.describe(error)))")
        }
        guard response.data.count == inputCount else {
            throw ResponseShapeError("it returned \(response.data.count) vectors for \(inputCount) inputs")
        }
        var vectors = [[Float]?](repeating: nil, count: inputCount)
        for item in response.data {
            guard item.index >= 0, item.index < inputCount else {
                throw ResponseShapeError("it returned index \(item.index) for \(inputCount) inputs")
            }
            guard vectors[item.index] == nil else { throw ResponseShapeError("it returned index \(item.index) twice") }
            vectors[item.index] = item.embedding.map(Float.init)
        }
        // As many items as inputs, each index once and in range: every slot is filled.
        let filled = vectors.compactMap { $0 }
        guard filled.count == inputCount else { throw ResponseShapeError("it left inputs without a vector") }
        return (filled, response.usage?.total_tokens ?? response.usage?.prompt_tokens)
    }
}

/// Ollama's `/api/embed`.
package struct OllamaWireFormat: EmbeddingWireFormat {
    package init() {}
    package var name: String { "ollama" }
    package var path: String { "/api/embed" }

    struct Request: Encodable {
        let model: String
        let input: [String]
        let dimensions: Int?
    }

    struct Response: Decodable {
        let embeddings: [[Double]]
        let prompt_eval_count: Int?
    }

    /// Ollama's API has no input type: its models are told by prefixes (RoleMarking).
    package func requestBody(model: String, inputs: [String], dimensions: Int?, inputType: String?) throws -> Data {
        try JSONEncoder().encode(Request(model: model, input: inputs, dimensions: dimensions))
    }

    package func parse(_ body: Data, inputCount: Int) throws(ResponseShapeError) -> (vectors: [[Float]], tokens: Int?) {
        let response: Response
        do { response = try JSONDecoder().decode(Response.self, from: body) } catch {
            throw ResponseShapeError("the body is not an Ollama /api/embed response (\(JSONShape.describe(error)))")
        }
        guard response.embeddings.count == inputCount else {
            throw ResponseShapeError("it returned \(response.embeddings.count) vectors for \(inputCount) inputs")
        }
        return (response.embeddings.map { $0.map(Float.init) }, response.prompt_eval_count)
    }
}

enum JSONShape {
    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "no '\(key.stringValue)' field"
        case DecodingError.typeMismatch(_, let context): "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        case DecodingError.dataCorrupted: "not valid JSON, or a value JSON cannot hold such as NaN"
        default: "\(error)"
        }
    }

    /// The provider's error text from a JSON error body (`{"error": {"message": …}}`,
    /// `{"error": "…"}`, `{"detail": …}`, `{"message": …}`), or the body itself.
    static func providerMessage(_ body: Data) -> String {
        if let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] {
            if let error = object["error"] as? [String: Any], let message = error["message"] as? String { return message }
            if let error = object["error"] as? String { return error }
            if let message = object["message"] as? String { return message }
            if let detail = object["detail"] { return "\(detail)" }
        }
        return String(decoding: body.prefix(500), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
