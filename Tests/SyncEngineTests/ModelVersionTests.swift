import Embedding
import Foundation
import SyncEngine
import SQLiteStore
import TemplateStore
import Testing
import TestSupport

@Suite("model versions")
struct ModelVersionTests {
    @Test(arguments: StoreBackend.available)
    func aNewModelVersionIsFilledCompletelyAndTheOldOneKept(backend: StoreBackend) async throws {
        let harness = try SyncHarness("versions", backend: backend)
        defer { harness.directory.remove() }
        try FileManager.default.copyItem(at: Fixtures.faq, to: harness.faqURL)
        let v1 = localEmbedder()
        let first = try await harness.sync(v1)
        let firstVersion = try #require(first.versionID)

        let base = LocalHashingEmbedder(dimension: 256)
        let v2 = CountingEmbedder(base, model: ModelIdentity(name: base.model.name, version: "next", dimension: 256))
        let second = try await harness.sync(v2)
        #expect(v2.texts == 200)
        #expect(second.new == 201)
        #expect(second.previousModel == v1.model)
        let versions = try await harness.store.versions()
        #expect(versions.count == 2)
        #expect(versions.first(where: \.isCurrent)?.model == v2.model)
        #expect(versions.first(where: { $0.id == firstVersion })?.templateCount == 201, "the old version is kept")

        // Switching back costs nothing: the old version is complete.
        _ = try await harness.store.setCurrentVersion(firstVersion)
        v1.reset()
        let back = try await harness.sync(v1)
        #expect(v1.texts == 0)
        #expect(back.versionID == firstVersion)
        #expect(back.unchanged == 201)

        let cleaned = try await harness.store.removeNonCurrentVersions()
        #expect(cleaned.removedVersions.map(\.model) == [v2.model])
        #expect(cleaned.removedTemplates == 201)
        #expect(try await harness.store.versions().map(\.id) == [firstVersion])
    }

    @Test(arguments: StoreBackend.available)
    func aDimensionChangeStoresVectorsOfTheNewSize(backend: StoreBackend) async throws {
        let harness = try SyncHarness("dimension", backend: backend)
        defer { harness.directory.remove() }
        try FileManager.default.copyItem(at: Fixtures.faq, to: harness.faqURL)
        try await harness.sync(localEmbedder(dimension: 256))
        let wide = localEmbedder(dimension: 512)
        let report = try await harness.sync(wide)
        #expect(wide.texts == 200)
        let version = try #require(try await harness.store.currentVersion())
        #expect(version.model.dimension == 512)
        let stored = try await harness.store.templates(versionID: try #require(report.versionID))
        #expect(stored.count == 201)
        #expect(stored.allSatisfy { $0.vector.count == 512 })
        #expect(try await harness.store.versions().count == 2)
        #expect(try await harness.store.checkIntegrity().passed)
    }

    @Test(arguments: StoreBackend.available)
    func storedVectorsAreExactlyWhatTheEmbedderReturned(backend: StoreBackend) async throws {
        let harness = try SyncHarness("bit-exact", backend: backend)
        defer { harness.directory.remove() }
        try FileManager.default.copyItem(at: Fixtures.sampleFAQ, to: harness.faqURL)
        let embedder = LocalHashingEmbedder(dimension: 384)
        let report = try await harness.sync(embedder)
        let stored = try await harness.store.templates(versionID: try #require(report.versionID))
        #expect(stored.count == 30)
        for template in stored {
            let expected = embedder.vector(for: template.question + " " + template.answer)
            #expect(template.vector.map(\.bitPattern) == expected.map(\.bitPattern))
        }
    }
}
