import Embedding
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// A real HTTP server, in-process, that speaks the OpenAI embeddings API (`POST /v1/embeddings`)
/// and Ollama's (`POST /api/embed`), computes vectors deterministically with the local embedder,
/// counts every request and input, and misbehaves on demand.
package final class FakeEmbeddingServer: Sendable {
    package enum Fault: Sendable {
        case status(Int, retryAfter: String? = nil, body: String = #"{"error":{"message":"try again later"}}"#)
        case delay(Duration)
        case fewerVectors
        case duplicateIndex
        case wrongDimension
        case nan
        case malformedJSON
    }

    package struct Behaviour: Sendable {
        /// Consumed one per request, in order; when empty the server answers normally.
        package var faults: [Fault] = []
        /// 413 for batches larger than this.
        package var maxBatch: Int?
        /// 400 for any batch that contains this input.
        package var rejectInput: String?
        /// 401 unless `Authorization: Bearer <key>`.
        package var requiredKey: String?
        /// Answer 401 with a body that quotes the request's Authorization header and the key in
        /// it, as some proxies and misconfigured gateways do.
        package var echoAuthorization = false
        /// Added to every request (for throughput benchmarks).
        package var latency: Duration = .zero
        /// Shut the server down right after this many successful answers (a crash mid-sync).
        package var stopAfterSuccesses: Int?
        /// Answer 503 to everything until this moment (an outage of the model API).
        package var unavailableUntil: ContinuousClock.Instant?
        package init() {}
    }

    package let port: Int
    package let dimension: Int
    private let shared: FakeState
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    package var requests: Int { shared.counters.withLock { $0.requests } }
    package var inputs: Int { shared.counters.withLock { $0.inputs } }
    package var openAIBaseURL: String { "http://127.0.0.1:\(port)/v1" }
    package var ollamaBaseURL: String { "http://127.0.0.1:\(port)" }

    package func setBehaviour(_ behaviour: Behaviour) { shared.counters.withLock { $0.behaviour = behaviour } }
    package func resetCounts() { shared.counters.withLock { $0.requests = 0; $0.inputs = 0; $0.successes = 0 } }

    package init(dimension: Int = 64, behaviour: Behaviour = Behaviour(), port: Int = 0) async throws {
        self.dimension = dimension
        let shared = FakeState(behaviour: behaviour)
        self.shared = shared
        let embedder = LocalHashingEmbedder(dimension: dimension)
        let router = Router()
        let handler = FakeHandler(shared: shared, embedder: embedder)
        router.post("/v1/embeddings") { request, _ in try await handler.respond(request, dialect: .openai) }
        router.post("/api/embed") { request, _ in try await handler.respond(request, dialect: .ollama) }
        let quiet = Logger(label: "fake-embedding-server", factory: { _ in SwiftLogNoOpLogHandler() })
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let application = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
                                      onServerRunning: { portContinuation.yield($0.localAddress?.port ?? 0) }, logger: quiet)
        let group = ServiceGroup(configuration: .init(services: [application], logger: quiet))
        self.group = group
        shared.group.withLock { $0 = group }
        task = Task { try await group.run() }
        var iterator = portStream.makeAsyncIterator()
        self.port = await iterator.next() ?? 0
    }

    package func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }
}

/// The server's counters and script, shared with its request handler.
final class FakeState: Sendable {
    typealias Counters = (behaviour: FakeEmbeddingServer.Behaviour, requests: Int, inputs: Int, successes: Int, dead: Bool)
    let counters: Mutex<Counters>
    let group = Mutex<ServiceGroup?>(nil)

    init(behaviour: FakeEmbeddingServer.Behaviour) {
        counters = Mutex((behaviour: behaviour, requests: 0, inputs: 0, successes: 0, dead: false))
    }
}

private struct FakeHandler: Sendable {
    enum Dialect { case openai, ollama }

    let shared: FakeState
    let embedder: LocalHashingEmbedder

    struct Body: Decodable {
        let model: String
        let input: [String]
    }

    func respond(_ request: Request, dialect: Dialect) async throws -> Response {
        let data = Data(try await request.body.collect(upTo: 64 << 20).readableBytesView)
        let body = try JSONDecoder().decode(Body.self, from: data)
        let authorization = request.headers[.authorization]
        let (behaviour, fault, dead) = shared.counters.withLock { state -> (FakeEmbeddingServer.Behaviour, FakeEmbeddingServer.Fault?, Bool) in
            if state.dead { return (state.behaviour, nil, true) }
            state.requests += 1
            state.inputs += body.input.count
            let fault = state.behaviour.faults.isEmpty ? nil : state.behaviour.faults.removeFirst()
            return (state.behaviour, fault, false)
        }
        // A crashed server answers nothing more; until its socket is gone, drop the request.
        if dead { throw CancellationError() }
        if behaviour.latency > .zero { try await Task.sleep(for: behaviour.latency) }
        if let until = behaviour.unavailableUntil, ContinuousClock.now < until {
            return json(503, #"{"error":{"message":"model is loading"}}"#)
        }
        if behaviour.echoAuthorization {
            let sent = authorization ?? "-"
            let key = sent.hasPrefix("Bearer ") ? String(sent.dropFirst(7)) : sent
            return json(401, #"{"error":{"message":"gateway refused Authorization: \#(sent) (key \#(key) is not enabled)"}}"#)
        }
        if let key = behaviour.requiredKey, authorization != "Bearer \(key)" {
            return json(401, #"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#)
        }
        if let maxBatch = behaviour.maxBatch, body.input.count > maxBatch {
            return json(413, #"{"error":{"message":"batch size \#(body.input.count) exceeds \#(maxBatch)"}}"#)
        }
        if let bad = behaviour.rejectInput, body.input.contains(bad) {
            return json(400, #"{"error":{"message":"input is too long: 9000 tokens > 8192"}}"#)
        }
        var vectors = body.input.map { embedder.vector(for: $0) }
        var indices = Array(vectors.indices)
        switch fault {
        case .status(let code, let retryAfter, let text):
            var response = json(code, text)
            if let retryAfter { response.headers[.retryAfter] = retryAfter }
            return response
        case .delay(let duration): try await Task.sleep(for: duration)
        case .fewerVectors: vectors.removeLast(); indices.removeLast()
        case .duplicateIndex: if indices.count > 1 { indices[1] = 0 }
        case .wrongDimension: vectors[0].removeLast()
        case .nan: return json(200, dialect == .openai ? #"{"data":[{"index":0,"embedding":[NaN]}]}"# : #"{"embeddings":[[NaN]]}"#)
        case .malformedJSON: return json(200, #"{"data": [ {"index": 0, "embedding": [0.1, "#)
        case nil: break
        }
        let text: String
        switch dialect {
        case .openai:
            let items = zip(indices, vectors).map { index, vector in
                #"{"object":"embedding","index":\#(index),"embedding":[\#(vector.map { "\($0)" }.joined(separator: ","))]}"#
            }
            text = #"{"object":"list","model":"\#(body.model)","data":[\#(items.joined(separator: ","))],"usage":{"prompt_tokens":\#(body.input.count * 10),"total_tokens":\#(body.input.count * 10)}}"#
        case .ollama:
            text = #"{"model":"\#(body.model)","embeddings":[\#(vectors.map { "[" + $0.map { "\($0)" }.joined(separator: ",") + "]" }.joined(separator: ","))],"prompt_eval_count":\#(body.input.count * 10)}"#
        }
        let stopNow = shared.counters.withLock { state -> Bool in
            state.successes += 1
            if state.behaviour.stopAfterSuccesses == state.successes { state.dead = true; return true }
            return false
        }
        if stopNow {
            // Answer this request, then go away like a crashed server: later requests are refused.
            let shared = self.shared
            Task {
                try? await Task.sleep(for: .milliseconds(20))
                await shared.group.withLock { $0 }?.triggerGracefulShutdown()
            }
        }
        return json(200, text)
    }

    func json(_ status: Int, _ text: String) -> Response {
        var response = Response(status: .init(code: status), body: .init(byteBuffer: ByteBuffer(string: text)))
        response.headers[.contentType] = "application/json"
        return response
    }
}
