import AsyncHTTPClient
import Embedding
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import RetrievalServer
import ServiceLifecycle
import SnapshotFormat
import SnapshotPublishing
import SnapshotReader
import TestSupport

/// Snapshots built with the local embedder's identity (so `serve` accepts queries), whose every
/// answer names its generation, to detect results that mix two generations.
enum LocalModelSnapshots {
    static let dimension = 64
    static let embedder = LocalHashingEmbedder(dimension: dimension)
    static var model: SnapshotEncoder.Model {
        .init(name: embedder.model.name, version: embedder.model.version, dimension: dimension)
    }

    static func templates(generation: UInt64, count: Int) -> [SnapshotTemplate] {
        (0..<count).map { index in
            let question = "Вопрос \(index) про \(["вклад", "карту", "кредит", "перевод"][index % 4])"
            return SnapshotTemplate(id: "t\(index)", category: ["Вклады", "Карты"][index % 2], subcategory: "s\(index % 3)",
                                    question: question, answer: "generation \(generation)", metadataJSON: "[]",
                                    vector: embedder.vector(for: question))
        }
    }

    @discardableResult
    static func publish(to path: String, generation: UInt64, count: Int = 40) throws -> UInt64 {
        try SnapshotFileWriter(path: path).publish(model: model, templates: templates(generation: generation, count: count),
                                                  minimumGeneration: generation)
    }
}

/// A retrieval server running in-process on a free port, and a real HTTP client.
final class InProcessServer: Sendable {
    let port: Int
    let live: LiveSnapshot
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    init(snapshotPath: String, limits: RetrievalService.Limits = .init(), activitySource: SyncActivitySource? = nil,
         pageAccess: PageAccess = .open) async throws {
        live = try LiveSnapshot(path: snapshotPath, requireSnapshot: false, logger: Self.quiet)
        let service = RetrievalService(live: live, embedder: LocalModelSnapshots.embedder, limits: limits,
                                       activitySource: activitySource, pageAccess: pageAccess)
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let application = service.makeServer(host: "127.0.0.1", port: 0, logger: Self.quiet) { port in
            portContinuation.yield(port)
        }
        let group = ServiceGroup(configuration: .init(services: [application], logger: Self.quiet))
        self.group = group
        task = Task { try await group.run() }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        self.port = port
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }
}

struct HTTPResult {
    let status: Int
    let headers: [String: String]
    let body: String

    func json() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] ?? [:]
    }
}

enum HTTP {
    static func request(_ method: HTTPMethod, _ url: String, body: String? = nil, contentType: String = "application/json",
                        headers extra: [(String, String)] = [], followRedirects: Bool = true) async throws -> HTTPResult {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let body {
            request.body = .bytes(ByteBuffer(string: body))
            request.headers.add(name: "Content-Type", value: contentType)
        }
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        guard !followRedirects else { return try await execute(request, on: HTTPClient.shared) }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        do {
            let result = try await execute(request, on: client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private static func execute(_ request: HTTPClientRequest, on client: HTTPClient) async throws -> HTTPResult {
        let response = try await client.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        var headers: [String: String] = [:]
        for header in response.headers { headers[header.name.lowercased()] = header.value }
        return HTTPResult(status: Int(response.status.code), headers: headers, body: String(buffer: bytes))
    }
}
