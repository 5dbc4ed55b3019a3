import Embedding
import EmbeddingProviders
import Foundation
import SyncEngine
import SQLiteStore
import TemplateStore
import Testing
import TestSupport

@Suite("the careful HTTP client")
struct CarefulClientTests {
    @Test func syncsThroughTheOpenAIAPIAndStoresExactlyWhatTheModelReturned() async throws {
        let harness = try await ProviderHarness("openai-ok")
        let report = try await harness.sync(try await harness.embedder())
        #expect((harness.server.requests, harness.server.inputs) == (1, 30))
        #expect((report.embeddedTexts, report.embeddingRequests, report.templates) == (30, 1, 30))
        #expect(report.tokens == 300, "the usage the API reported")
        let version = try #require(try await harness.store.currentVersion())
        #expect(version.model == ModelIdentity(name: "bge-m3", version: "v1", dimension: 64))
        let local = LocalHashingEmbedder(dimension: 64)
        for template in try await harness.store.templates(versionID: version.id) {
            #expect(template.vector == local.vector(for: template.question + " " + template.answer))
        }
        await harness.cleanUp()
    }

    @Test func syncsThroughOllama() async throws {
        let harness = try await ProviderHarness("ollama")
        var settings = harness.settings(batchSize: 8)
        settings.baseURL = harness.server.ollamaBaseURL
        let report = try await harness.sync(try await harness.embedder(settings, format: OllamaWireFormat()))
        #expect((harness.server.requests, report.embeddedTexts, report.templates) == (4, 30, 30))
        #expect(report.tokens == 300)
        await harness.cleanUp()
    }

    @Test func retriesA429HonouringRetryAfter() async throws {
        let harness = try await ProviderHarness("retry-429")
        var behaviour = FakeEmbeddingServer.Behaviour()
        behaviour.faults = [.status(429, retryAfter: "1"), .status(429, retryAfter: "1")]
        harness.server.setBehaviour(behaviour)
        let started = ContinuousClock.now
        let report = try await harness.sync(try await harness.embedder())
        #expect(ContinuousClock.now - started >= .seconds(2), "waited as Retry-After asked, twice")
        #expect(harness.server.requests == 3)
        #expect(report.embeddingRequests == 3)
        #expect(report.templates == 30)
        await harness.cleanUp()
    }

    @Test func retriesA500() async throws {
        let harness = try await ProviderHarness("retry-500")
        var behaviour = FakeEmbeddingServer.Behaviour()
        behaviour.faults = [.status(500, body: "internal error")]
        harness.server.setBehaviour(behaviour)
        let report = try await harness.sync(try await harness.embedder())
        #expect((harness.server.requests, report.templates) == (2, 30))
        await harness.cleanUp()
    }

    @Test func retriesAResponseSlowerThanTheTimeout() async throws {
        let harness = try await ProviderHarness("timeout")
        var behaviour = FakeEmbeddingServer.Behaviour()
        behaviour.faults = [.delay(.seconds(3))]
        harness.server.setBehaviour(behaviour)
        let report = try await harness.sync(try await harness.embedder(harness.settings(timeout: .seconds(1))))
        #expect(harness.server.requests == 2)
        #expect(report.templates == 30)
        await harness.cleanUp()
    }

    @Test func givesUpWithinItsBoundsAndSaysSo() async throws {
        let harness = try await ProviderHarness("exhausted")
        var behaviour = FakeEmbeddingServer.Behaviour()
        behaviour.faults = Array(repeating: .status(503), count: 10)
        harness.server.setBehaviour(behaviour)
        let embedder = try await harness.embedder(harness.settings(attempts: 3))
        await #expect {
            try await harness.sync(embedder)
        } throws: { error in
            let failure = error as? EmbeddingProviderError
            return failure?.code == .retriesExhausted && "\(error)".contains(harness.server.openAIBaseURL) && "\(error)".contains("after 3 attempts")
        }
        #expect(harness.server.requests == 3)
        #expect(try await harness.store.versions().isEmpty)
        await harness.cleanUp()
    }

    enum BadResponse: String, CaseIterable { case fewerVectors, duplicateIndex, wrongDimension, nan, malformedJSON }

    @Test(arguments: BadResponse.allCases)
    func aBadResponseIsAnErrorAndNothingIsStored(kind: BadResponse) async throws {
        let harness = try await ProviderHarness("bad-\(kind.rawValue)")
        try await harness.sync(LocalHashingEmbedder(dimension: 64))  // some earlier state to keep
        let before = try harness.dataRows()
        var behaviour = FakeEmbeddingServer.Behaviour()
        let fault: FakeEmbeddingServer.Fault = switch kind {
        case .fewerVectors: .fewerVectors
        case .duplicateIndex: .duplicateIndex
        case .wrongDimension: .wrongDimension
        case .nan: .nan
        case .malformedJSON: .malformedJSON
        }
        behaviour.faults = [fault]
        harness.server.setBehaviour(behaviour)
        await #expect {
            try await harness.sync(try await harness.embedder())
        } throws: { error in
            (error as? EmbeddingProviderError)?.code == .invalidResponse
        }
        #expect(harness.server.requests == 1, "a bad response is not retried")
        #expect(try harness.dataRows() == before)
        await harness.cleanUp()
    }

    @Test func a401FailsFastNamingTheEndpointStatusAndWhatToCheck() async throws {
        let harness = try await ProviderHarness("unauthorized")
        var behaviour = FakeEmbeddingServer.Behaviour()
        behaviour.requiredKey = "right-key"
        harness.server.setBehaviour(behaviour)
        let embedder = try await harness.embedder(harness.settings(key: "wrong-key"))
        await #expect {
            try await harness.sync(embedder)
        } throws: { error in
            let text = "\(error)"
            return (error as? EmbeddingProviderError)?.code == .unauthorized && text.contains("\(harness.server.openAIBaseURL)/embeddings")
                && text.contains("HTTP 401") && text.contains("Incorrect API key provided") && text.contains("EMBEDDING_API_KEY")
                && !text.contains("wrong-key")
        }
        #expect(harness.server.requests == 1)
        await harness.cleanUp()
    }

    @Test func aBatchTheServerFindsTooLargeIsSplitInHalves() async throws {
        let harness = try await ProviderHarness("split")
        var behaviour = FakeEmbeddingServer.Behaviour()
        behaviour.maxBatch = 8
        harness.server.setBehaviour(behaviour)
        let report = try await harness.sync(try await harness.embedder())
        // 30 → 413; 15, 15 → 413 each; 8, 7, 8, 7 → fine: 7 requests.
        #expect(harness.server.requests == 7)
        #expect(report.embeddingRequests == 7)
        #expect((report.embeddedTexts, report.templates) == (30, 30))
        await harness.cleanUp()
    }
}
