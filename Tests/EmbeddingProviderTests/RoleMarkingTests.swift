import Embedding
import EmbeddingProviders
import Foundation
import Testing
import TestSupport

/// How an HTTP provider tells queries from passages, and what that does to the model version.
@Suite("queries and passages over HTTP")
struct RoleMarkingTests {
    @Test func knownModelsGetTheirPrefixesAndOthersNone() {
        #expect(RoleMarking.known(forModel: "intfloat/multilingual-e5-small") == RoleMarking(queryPrefix: "query: ", passagePrefix: "passage: "))
        #expect(RoleMarking.known(forModel: "e5-large-v2") == RoleMarking(queryPrefix: "query: ", passagePrefix: "passage: "))
        #expect(RoleMarking.known(forModel: "nomic-embed-text:v1.5") == RoleMarking(queryPrefix: "search_query: ", passagePrefix: "search_document: "))
        #expect(RoleMarking.known(forModel: "bge-m3").isNone)
        #expect(RoleMarking.known(forModel: "text-embedding-3-small").isNone)
        let e5 = RoleMarking.known(forModel: "multilingual-e5-small")
        #expect(e5.text("как дела", as: .query) == "query: как дела" && e5.text("шаблон", as: .passage) == "passage: шаблон")
    }

    @Test func markingIsPartOfTheModelVersionAndFitsTheHeader() {
        let plain = HTTPEmbedderSettings(baseURL: "http://127.0.0.1:1/v1", model: "bge-m3", modelVersion: "v1")
        #expect(plain.effectiveModelVersion == "v1", "an unmarked model keeps the version it always had (imported vectors stay valid)")
        var marked = plain
        marked.roles = RoleMarking(inputTypes: (query: "query", passage: "passage"))
        var other = plain
        other.roles = RoleMarking(queryPrefix: "query: ", passagePrefix: "passage: ")
        #expect(marked.effectiveModelVersion.hasPrefix("v1+r") && other.effectiveModelVersion.hasPrefix("v1+r"))
        #expect(marked.effectiveModelVersion != other.effectiveModelVersion)
        var long = other
        long.modelVersion = String(repeating: "в", count: 15)   // 30 bytes: the tag must still fit
        #expect(long.effectiveModelVersion.utf8.count <= ModelIdentity.versionCapacity)
        #expect(long.effectiveModelVersion.hasSuffix(other.roles.versionTag))
    }

    /// Prefixes reach the server in the text, input types in the request: the fake server embeds
    /// the text it receives, so a prefixed query's vector is the vector of the prefixed text.
    @Test func prefixesReachTheServer() async throws {
        let harness = try await ProviderHarness("role-prefixes")
        defer { harness.directory.remove() }
        var settings = harness.settings()
        settings.roles = RoleMarking(queryPrefix: "query: ", passagePrefix: "passage: ")
        let embedder = try await harness.embedder(settings)
        let local = LocalHashingEmbedder(dimension: harness.server.dimension)
        let query = try await embedder.embed(["как открыть вклад"], as: .query)[0]
        #expect(query == local.vector(for: "query: как открыть вклад"))
        let passage = try await embedder.embed(["как открыть вклад"], as: .passage)[0]
        #expect(passage == local.vector(for: "passage: как открыть вклад"))
        await harness.server.stop()
    }
}
