import Embedding
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SnapshotFormat
import SnapshotReader
import SyncActivity

/// The HTTP retrieval API over a live snapshot:
///
/// - `POST /v1/search` `{query, k?, category?, subcategory?, min_score?}` → `{generation, results: [{id, score, category, subcategory, question, answer}]}`
/// - `GET /v1/templates/{id}` → `{generation, template}`
/// - `GET /healthz` (and `HEAD`) → 503 until a snapshot is loaded, then 200 `{status, generation, model, templates}`;
///   status `stale` (with the reason) while the file at the path was rejected and an older one serves
/// - `GET /metrics` → Prometheus text
/// - `GET /` → the FAQ team's page (HTML), `GET /v1/syncs` → the writer's recent syncs (JSON);
///   both behind `SERVE_TOKEN` beyond loopback (`PageAccess`)
///
/// Every response carries the serving generation in `X-Snapshot-Generation`; errors are JSON
/// with a reason.
package struct RetrievalService: Sendable {
    package struct Limits: Sendable {
        /// Largest request body accepted (413 beyond it).
        package var maxBodyBytes = 64 * 1024
        /// Longest query text accepted, in characters.
        package var maxQueryCharacters = 4_096
        package var defaultK = 5

        package init() {}
    }

    package let live: LiveSnapshot
    package let embedder: any Embedder
    package let metrics: RetrievalMetrics
    package let limits: Limits
    /// What the FAQ team's page shows of the writer's syncs.
    package let activitySource: SyncActivitySource
    /// Who may see the page and `/v1/syncs`.
    package let pageAccess: PageAccess
    /// Sign-outs and failed sign-ins this server remembers.
    let sessions = PageSessions()

    /// - Parameter activitySource: by default the document the writer publishes beside the snapshot.
    package init(live: LiveSnapshot, embedder: any Embedder, metrics: RetrievalMetrics = RetrievalMetrics(), limits: Limits = Limits(),
                 activitySource: SyncActivitySource? = nil, pageAccess: PageAccess = .open) {
        self.live = live
        self.embedder = embedder
        self.metrics = metrics
        self.limits = limits
        self.activitySource = activitySource ?? .file(SyncActivityFile(besideSnapshot: live.path))
        self.pageAccess = pageAccess
    }

    package func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: JSONErrorMiddleware(live: live))
        router.get("/healthz") { _, _ in self.health() }
        // Load balancers and uptime checks often ask with HEAD: the same status, no body.
        router.head("/healthz") { _, _ in
            var response = self.health()
            response.body = .init()
            return response
        }
        router.get("/metrics") { _, _ in self.metricsResponse() }
        router.post("/v1/search") { request, _ in try await self.search(request) }
        router.get("/v1/templates/:id") { _, context in try self.template(id: context.parameters.require("id")) }
        addTeamPage(to: router)
        return router
    }

    /// The API served on `host:port` (port 0 picks a free one; `onListening` receives the bound port).
    package func makeServer(host: String, port: Int, limits: HTTPServer.Limits = .init(), logger: Logger,
                           onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> HTTPServer {
        HTTPServer(listener: .address(host: host, port: port), router: makeRouter(), limits: limits, logger: logger) { _, bound in
            await onListening(bound ?? port)
        }
    }

    // MARK: Handlers

    func health() -> Response {
        guard let snapshot = live.current else {
            return JSON.response(.serviceUnavailable, HealthResponse(status: "no snapshot", generation: nil, model: nil, templates: nil,
                                                                     reason: "no snapshot loaded from \(live.path) yet"), generation: nil)
        }
        let header = snapshot.header
        guard snapshot.isIntact else {
            live.reloadIfChanged()
            return JSON.response(.serviceUnavailable, HealthResponse(status: "torn", generation: header.generation, model: nil, templates: nil,
                                                                     reason: "the snapshot file \(live.path) was changed in place under the reader; waiting for a valid file there (publish with faqsync, or `faqsync snapshot install FILE`)"),
                                 generation: header.generation)
        }
        // Still answering, from the last good snapshot: 200, but not "ok" (a monitor should say so).
        let behind = live.rejectedFileAtPath
        return JSON.response(.ok, HealthResponse(status: behind == nil ? "ok" : "stale", generation: header.generation,
                                                 model: "\(header.modelName) \(header.modelVersion) (\(header.dimension) dimensions)",
                                                 templates: snapshot.contents.count,
                                                 reason: behind.map { "the file at \(live.path) was rejected (\($0.code.rawValue): \($0.message)); still serving generation \(header.generation)" }),
                             generation: header.generation)
    }

    func metricsResponse() -> Response {
        metrics.refresh(from: live.statistics)
        var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
        response.headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return response
    }

    func search(_ request: Request) async throws -> Response {
        let started = ContinuousClock.now
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limits.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            metrics.failedQueries.increment()
            throw HTTPError(.contentTooLarge, message: "the request body is larger than \(limits.maxBodyBytes) bytes")
        }
        let search: SearchRequest
        do {
            search = try JSONDecoder().decode(SearchRequest.self, from: body)
        } catch {
            metrics.failedQueries.increment()
            throw HTTPError(.badRequest, message: "the body must be JSON {\"query\": \"...\", \"k\": 5, \"mode\": \"hybrid\" | \"dense\" | \"lexical\", \"category\": ..., \"subcategory\": ...}: \(Self.describe(error))")
        }
        let results = try await perform(query: search.query, mode: search.mode ?? .hybrid, k: search.k ?? limits.defaultK,
                                        filter: SearchFilter(category: search.category, subcategory: search.subcategory, minimumScore: search.minScore))
        metrics.latency.recordInterval(since: started)
        return JSON.response(.ok, results, generation: results.generation)
    }

    /// One search, as the API and the page both run it: the checks, the query's embedding (not for
    /// lexical), the search of one snapshot generation. Failures are `HTTPError`s with a reason
    /// worded for the caller, and counted.
    func perform(query: String, mode: SearchMode, k: Int, filter: SearchFilter) async throws -> SearchResults {
        guard (1...MappedSnapshot.maximumK).contains(k) else {
            metrics.failedQueries.increment()
            throw HTTPError(.badRequest, message: "k must be between 1 and \(MappedSnapshot.maximumK), not \(k)")
        }
        let text = query.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, text.count <= limits.maxQueryCharacters else {
            metrics.failedQueries.increment()
            throw HTTPError(.badRequest, message: text.isEmpty ? "the query is empty" : "the query is longer than \(limits.maxQueryCharacters) characters")
        }
        // One reference for the whole request: a switch mid-request does not mix generations.
        guard let snapshot = live.current else {
            metrics.failedQueries.increment()
            throw HTTPError(.serviceUnavailable, message: "no snapshot loaded from \(live.path) yet")
        }
        let header = snapshot.header
        var vector: [Float]?
        if mode != .lexical {
            guard embedder.model.name == header.modelName, embedder.model.version == header.modelVersion,
                  embedder.model.dimension == header.dimension else {
                metrics.failedQueries.increment()
                throw HTTPError(.conflict, message: "the snapshot's model is \(header.modelName) \(header.modelVersion) (\(header.dimension) dimensions) but this server embeds queries with \(embedder.model); restart it with the snapshot's model configured, or ask with \"mode\": \"lexical\"")
            }
            do {
                vector = try await embedder.embed([text], as: .query)[0]
            } catch {
                metrics.failedQueries.increment()
                throw error
            }
        }
        let results: SearchResults
        do {
            results = try live.reloadingIfTorn { try snapshot.search(SearchQuery(text: text, vector: vector, mode: mode), k: k, filter: filter) }
        } catch let error as SearchError {
            metrics.failedQueries.increment()
            throw HTTPError(.badRequest, message: error.message)
        } catch let error as SnapshotError {
            metrics.failedQueries.increment()
            throw tornSnapshot(error)
        }
        metrics.queries.increment()
        return results
    }

    /// The file under the mapping changed in place: the answer is discarded (never served from a
    /// torn file), the reader reloads (`LiveSnapshot.reloadingIfTorn`), and the client may retry.
    func tornSnapshot(_ error: SnapshotError) -> HTTPError {
        HTTPError(.serviceUnavailable, message: "\(error.message); the answer was discarded and the reader reloads: retry")
    }

    func template(id: String) throws -> Response {
        guard let snapshot = live.current else {
            throw HTTPError(.serviceUnavailable, message: "no snapshot loaded from \(live.path) yet")
        }
        let found: SearchHit?
        do { found = try live.reloadingIfTorn { try snapshot.template(id: id) } } catch let error as SnapshotError { throw tornSnapshot(error) }
        guard let template = found else {
            throw HTTPError(.notFound, message: "no template with id '\(id)' in generation \(snapshot.generation)")
        }
        return JSON.response(.ok, TemplateResponse(generation: snapshot.generation, template: template), generation: snapshot.generation)
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "the field '\(key.stringValue)' is missing"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "the field '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type"
        case DecodingError.dataCorrupted: "it is not valid JSON"
        default: "\(error)"
        }
    }
}

extension Metrics.Timer {
    func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}

import Metrics

enum JSON {
    // A constant, valid header name: the unwrap cannot fail.
    static let generationHeader = HTTPField.Name("X-Snapshot-Generation")!

    static func response<T: Encodable>(_ status: HTTPResponse.Status, _ value: T, generation: UInt64?) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        var response = Response(status: status, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        response.headers[.contentType] = "application/json; charset=utf-8"
        if let generation { response.headers[generationHeader] = String(generation) }
        return response
    }
}

/// Turns every error into a JSON body with a reason, and stamps the serving generation.
struct JSONErrorMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let live: LiveSnapshot

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let generation = live.current?.generation
        do {
            var response = try await next(request, context)
            if response.headers[JSON.generationHeader] == nil, let generation {
                response.headers[JSON.generationHeader] = String(generation)
            }
            return response
        } catch let error as HTTPError {
            let reason = error.body ?? error.status.reasonPhrase
            return JSON.response(error.status, ErrorResponse(error: .init(status: error.status.code, reason: reason), generation: generation),
                                 generation: generation)
        } catch {
            return JSON.response(.internalServerError,
                                 ErrorResponse(error: .init(status: 500, reason: "\(error)"), generation: generation), generation: generation)
        }
    }
}
