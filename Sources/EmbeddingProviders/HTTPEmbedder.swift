import AsyncHTTPClient
import Embedding
import Foundation
import Redaction
import Logging
import NIOCore
import NIOHTTP1

/// Settings of an HTTP embedding provider (`EMBEDDING_*`).
package struct HTTPEmbedderSettings: Sendable {
    package var baseURL: String
    package var model: String
    /// What the store records as the model's version.
    package var modelVersion: String
    /// Sent as `dimensions` and enforced; nil: learned from the first response, then enforced.
    package var dimensions: Int?
    package var batchSize: Int
    package var timeout: Duration
    package var apiKey: Secret?
    package var retry: RetryPolicy
    /// How queries and passages are told apart (prefixes, `input_type`).
    package var roles: RoleMarking

    package init(baseURL: String, model: String, modelVersion: String = "1", dimensions: Int? = nil, batchSize: Int = 32,
                timeout: Duration = .seconds(30), apiKey: Secret? = nil, retry: RetryPolicy = RetryPolicy(), roles: RoleMarking = .none) {
        self.baseURL = baseURL
        self.model = model
        self.modelVersion = modelVersion
        self.dimensions = dimensions
        self.batchSize = batchSize
        self.timeout = timeout
        self.apiKey = apiKey
        self.retry = retry
        self.roles = roles
    }

    /// The version the store records: the configured one, and when queries and passages are
    /// marked, a tag of how (other prefixes give other vectors, so another version), kept within
    /// what a snapshot header holds.
    package var effectiveModelVersion: String {
        guard !roles.isNone else { return modelVersion }
        let tag = "+r" + roles.versionTag
        var base = modelVersion
        while base.utf8.count + tag.utf8.count > ModelIdentity.versionCapacity { base.removeLast() }
        return base + tag
    }
}

/// An embedding model behind HTTP, used the way a careful client uses a paid API:
///
/// - 429, 5xx, timeouts and connection errors are retried with exponential backoff and jitter,
///   honouring `Retry-After`, within a bounded number of attempts and total time;
/// - 401, 403 and 404 fail at once with the endpoint, the status, the provider's words and what
///   to check;
/// - every response is validated (one vector per input, each index once, the right dimension,
///   finite values) and a bad one is an error, never stored;
/// - a batch the server rejects as too large (413) is split in halves and retried;
/// - an input the server rejects on its own (400 for that input alone) is reported back as a
///   rejection, so the sync can quarantine that template and go on with the others.
package final class HTTPEmbedder: BatchEmbedder {
    package let model: ModelIdentity
    package let preferredBatchSize: Int
    package let endpoint: String
    private let settings: HTTPEmbedderSettings
    private let format: any EmbeddingWireFormat
    private let client: HTTPClient
    private let logger: Logger

    /// Creates the embedder. When the dimension is neither configured nor `knownDimension` (from
    /// an existing store version of this model), one probe request learns it.
    package static func make(settings: HTTPEmbedderSettings, format: any EmbeddingWireFormat, knownDimension: Int? = nil,
                            client: HTTPClient = .shared, logger: Logger) async throws -> HTTPEmbedder {
        let endpoint = settings.baseURL.trimmingSuffix("/") + format.path
        if let dimension = settings.dimensions ?? knownDimension {
            return HTTPEmbedder(settings: settings, format: format, dimension: dimension, endpoint: endpoint, client: client, logger: logger)
        }
        let probe = HTTPEmbedder(settings: settings, format: format, dimension: 0, endpoint: endpoint, client: client, logger: logger)
        let learned = try await probe.learnDimension()
        logger.info("learned the model's dimension from its first response", metadata: ["model": "\(settings.model)", "dimension": "\(learned)"])
        return HTTPEmbedder(settings: settings, format: format, dimension: learned, endpoint: endpoint, client: client, logger: logger)
    }

    private init(settings: HTTPEmbedderSettings, format: any EmbeddingWireFormat, dimension: Int, endpoint: String,
                 client: HTTPClient, logger: Logger) {
        self.settings = settings
        self.format = format
        self.client = client
        self.logger = logger
        self.endpoint = endpoint
        self.preferredBatchSize = settings.batchSize
        self.model = ModelIdentity(name: settings.model, version: settings.effectiveModelVersion, dimension: dimension)
    }

    package func embed(_ texts: [String], as role: EmbeddingRole) async throws -> [[Float]] {
        let result = try await embedBatch(texts, as: role)
        if let (index, reason) = result.rejections.first {
            throw EmbeddingProviderError(code: .rejected, endpoint: shownEndpoint, status: 400, providerMessage: reason,
                                         hint: "The provider rejected input \(index).")
        }
        let vectors = result.vectors.compactMap { $0 }
        guard vectors.count == texts.count else {
            throw EmbeddingProviderError(code: .rejected, endpoint: shownEndpoint, status: 400, providerMessage: "no vector for some inputs",
                                         hint: "The provider answered without a vector for every input.")
        }
        return vectors
    }

    package func embedBatch(_ texts: [String], as role: EmbeddingRole) async throws -> EmbeddingBatchResult {
        var result = EmbeddingBatchResult(vectors: Array(repeating: nil, count: texts.count), requests: 0)
        let marked = texts.map { settings.roles.text($0, as: role) }
        try await embed(Array(marked.indices), of: marked, role: role, into: &result)
        if !texts.isEmpty, result.rejections.count == texts.count {
            // Every input was rejected. If a tiny probe is refused too, the request itself is wrong
            // (model name, options) and quarantining the inputs would hide that.
            let probe = try await post(["faqsync probe"], role: role, requests: &result.requests)
            guard case .vectors = probe else {
                throw EmbeddingProviderError(code: .badRequest, endpoint: shownEndpoint, status: 400, providerMessage: result.rejections[0],
                                             hint: "The provider refuses every request, a one-word probe included; check EMBEDDING_MODEL and EMBEDDING_DIMENSIONS.")
            }
        }
        return result
    }

    private func embed(_ indices: [Int], of texts: [String], role: EmbeddingRole, into result: inout EmbeddingBatchResult) async throws {
        let outcome = try await post(indices.map { texts[$0] }, role: role, requests: &result.requests)
        switch outcome {
        case .vectors(let vectors, let tokens):
            for (index, vector) in zip(indices, vectors) { result.vectors[index] = vector }
            if let tokens { result.tokens = (result.tokens ?? 0) + tokens }
        case .tooLarge(let message), .rejected(let message):
            if indices.count == 1 {
                result.rejections[indices[0]] = message
                return
            }
            let half = indices.count / 2
            logger.debug("splitting a batch the provider refused", metadata: ["size": "\(indices.count)", "reason": "\(message)"])
            try await embed(Array(indices[..<half]), of: texts, role: role, into: &result)
            try await embed(Array(indices[half...]), of: texts, role: role, into: &result)
        }
    }

    enum Outcome {
        case vectors([[Float]], tokens: Int?)
        /// 413: the batch is too large; a smaller one may pass.
        case tooLarge(String)
        /// 400/422: something in this batch is not acceptable.
        case rejected(String)
    }

    /// One batch, with retries for what retrying can fix.
    private func post(_ inputs: [String], role: EmbeddingRole, requests: inout Int) async throws -> Outcome {
        let clock = ContinuousClock()
        let deadline = clock.now + settings.retry.maxTotal
        var attempt = 0
        var lastProblem = ""
        while true {
            attempt += 1
            try Task.checkCancellation()
            var retryAfter: Duration?
            do {
                requests += 1
                let response = try await client.execute(try request(inputs, role: role), timeout: .init(settings.timeout))
                let body = Data(try await response.body.collect(upTo: 256 << 20).readableBytesView)
                let status = Int(response.status.code)
                switch status {
                case 200..<300:
                    let (vectors, tokens) = try validated(body, inputCount: inputs.count)
                    return .vectors(vectors, tokens: tokens)
                case 413:
                    return .tooLarge("the batch of \(inputs.count) is too large for the provider (HTTP 413): \(providerText(body))")
                case 400, 422:
                    return .rejected(providerText(body))
                case 401:
                    throw failure(.unauthorized, status, body, "Check EMBEDDING_API_KEY (or EMBEDDING_API_KEY_FILE, or the embedding-api-key credential).")
                case 403:
                    throw failure(.forbidden, status, body, "The key is valid but not allowed to use this model; check its permissions.")
                case 404:
                    throw failure(.notFound, status, body, "Check EMBEDDING_BASE_URL (it should end before \(format.path)) and EMBEDDING_MODEL.")
                case 408, 429, 500, 502, 503, 504:
                    retryAfter = RetryPolicy.parseRetryAfter(response.headers.first(name: "Retry-After"))
                    lastProblem = "HTTP \(status): \(providerText(body))"
                default:
                    throw failure(.unexpectedStatus, status, body, "The provider answered with a status faqsync does not expect.")
                }
            } catch let error as EmbeddingProviderError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                // Timeouts, refused or dropped connections: transient by nature.
                lastProblem = Redaction.bounded("\(error)", secrets: secrets)
            }
            let delay = settings.retry.delay(afterAttempt: attempt, retryAfter: retryAfter)
            guard attempt < settings.retry.maxAttempts, clock.now + delay < deadline else {
                throw EmbeddingProviderError(code: .retriesExhausted, endpoint: shownEndpoint, status: nil, providerMessage: lastProblem,
                                             hint: "Gave up after \(attempt) attempts; the provider may be down or overloaded. Vectors received so far are cached, so the next sync sends only what is missing.")
            }
            logger.warning("embedding request failed, retrying", metadata: [
                "endpoint": "\(shownEndpoint)", "attempt": "\(attempt)", "delay_ms": "\(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)",
                "problem": "\(lastProblem)"])
            try await Task.sleep(for: delay)
        }
    }

    private func validated(_ body: Data, inputCount: Int) throws -> (vectors: [[Float]], tokens: Int?) {
        let parsed: [[Float]]
        let tokens: Int?
        do { (parsed, tokens) = try format.parse(body, inputCount: inputCount) } catch {
            throw EmbeddingProviderError(code: .invalidResponse, endpoint: shownEndpoint, status: 200, providerMessage: error.message,
                                         hint: "The response was not stored. Check that the server speaks the \(format.name) embeddings API.")
        }
        for (index, vector) in parsed.enumerated() {
            if model.dimension > 0, vector.count != model.dimension {
                throw EmbeddingProviderError(code: .invalidResponse, endpoint: shownEndpoint, status: 200,
                                             providerMessage: "vector \(index) has \(vector.count) values, the model version has \(model.dimension)",
                                             hint: "The response was not stored. A model that changed its dimension needs EMBEDDING_MODEL_VERSION changed too.")
            }
            if !vector.allSatisfy(\.isFinite) {
                throw EmbeddingProviderError(code: .invalidResponse, endpoint: shownEndpoint, status: 200,
                                             providerMessage: "vector \(index) contains a NaN or infinite value",
                                             hint: "The response was not stored.")
            }
        }
        return (parsed, tokens)
    }

    private func learnDimension() async throws -> Int {
        var requests = 0
        guard case .vectors(let vectors, _) = try await post(["dimension probe"], role: .passage, requests: &requests), let first = vectors.first, !first.isEmpty else {
            throw EmbeddingProviderError(code: .invalidResponse, endpoint: shownEndpoint, status: nil, providerMessage: "the probe was rejected",
                                         hint: "Set EMBEDDING_DIMENSIONS to the model's dimension.")
        }
        return first.count
    }

    private func request(_ inputs: [String], role: EmbeddingRole) throws -> HTTPClientRequest {
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "faqsync")
        if let key = settings.apiKey { request.headers.add(name: "Authorization", value: "Bearer \(key.reveal())") }
        request.body = .bytes(ByteBuffer(bytes: try format.requestBody(model: settings.model, inputs: inputs, dimensions: settings.dimensions,
                                                                            inputType: settings.roles.inputType(role))))
        return request
    }

    /// The provider's words about a failure, without the key (a proxy may echo the request's
    /// Authorization header) and bounded: they reach stderr, the log, the activity document and the page.
    private func providerText(_ body: Data) -> String {
        Redaction.bounded(JSONShape.providerMessage(body), secrets: secrets)
    }

    private var secrets: [String] { settings.apiKey.map { [$0.reveal()] } ?? [] }

    /// The endpoint as messages show it: credentials in EMBEDDING_BASE_URL masked.
    private var shownEndpoint: String { Redaction.redact(endpoint) }

    private func failure(_ code: EmbeddingProviderError.Code, _ status: Int, _ body: Data, _ hint: String) -> EmbeddingProviderError {
        EmbeddingProviderError(code: code, endpoint: shownEndpoint, status: status, providerMessage: providerText(body), hint: hint)
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }
}
