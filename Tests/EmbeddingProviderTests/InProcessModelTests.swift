import Embedding
import Foundation
import InProcessModel
import SpreadsheetReading
import Testing
import TestSupport

/// multilingual-e5-small in the process: the same vectors as the reference package, the
/// identity that names the weights, and the files it refuses before they reach the engine.
@Suite("in-process model", .serialized)
struct InProcessModelTests {
    static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } / (a.reduce(0) { $0 + $1 * $1 }.squareRoot() * b.reduce(0) { $0 + $1 * $1 }.squareRoot())
    }

    /// Texts that exercise the engine: the FAQ's longest answers (the fixture's longest has 720
    /// characters), a text over 512 tokens (windowed by the engine), English, and an empty one.
    static func texts() throws -> [String] {
        let rows = try SpreadsheetReader().read(Fixtures.faq).rows
        let longest = rows.sorted { $0.answer.count > $1.answer.count }.prefix(3).map { "\($0.question) \($0.answer)" }
        return longest + [String(repeating: longest[0] + " ", count: 6), "How do I open a deposit online?", "Сижу в декрете, могу взять кредит?", ""]
    }

    @Test func vectorsMatchTheReferencePackage() async throws {
        let embedder = try InstalledModel.embedder()
        let texts = try Self.texts()
        #expect(await embedder.engine.tokens(in: texts[3], isQuery: false) > 512, "the long text must exceed the model's 512 tokens")
        for role in [EmbeddingRole.passage, .query] {
            let ours = try await embedder.embed(texts, as: role)
            let reference = try ReferenceModel.vectors(texts, query: role == .query)
            #expect(ours.count == texts.count && reference.count == texts.count)
            for (index, (mine, theirs)) in zip(ours, reference).enumerated() {
                #expect(mine.count == 384)
                let similarity = Self.cosine(mine, theirs)
                #expect(similarity >= 0.9999, "\(role) text \(index) (\(texts[index].prefix(40))…): cosine \(similarity)")
            }
        }
        // Queries and passages are embedded differently: the role reaches the engine.
        let asQuery = try await embedder.embed([texts[5]], as: .query)[0], asPassage = try await embedder.embed([texts[5]], as: .passage)[0]
        #expect(Self.cosine(asQuery, asPassage) < 0.999)
    }

    @Test func identityNamesTheWeightsAndThePrefixes() throws {
        let embedder = try InstalledModel.embedder()
        #expect(embedder.model.name == "multilingual-e5-small")
        #expect(embedder.model.version == "q4-1571fc982750-qp")
        #expect(embedder.model.dimension == 384)
        #expect(ModelFiles.knownWeights[embedder.engine.weightsSHA256] != nil)
    }

    @Test func batchesLargerThanTheEngineTakesAreSplitAndKeepTheirOrder() async throws {
        let embedder = try InstalledModel.embedder()
        let texts = (0..<(E5Engine.maximumBatch + 7)).map { "вопрос номер \($0)" }
        let vectors = try await embedder.embed(texts, as: .passage)
        #expect(vectors.count == texts.count)
        let last = try await embedder.embed([texts[texts.count - 1]], as: .passage)[0]
        #expect(Self.cosine(vectors[vectors.count - 1], last) > 0.9999)
    }

    @Test func damagedWeightsNeverReachTheEngine() throws {
        let files = try ModelFiles.locate(engine: nil, weights: nil, directory: nil)
        let scratch = try TemporaryDirectory("model-weights")
        defer { scratch.remove() }
        // Truncated: what a disk or an interrupted copy leaves.
        let truncated = scratch.path("truncated.bin")
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: files.weights))
        try handle.read(upToCount: 1 << 20)!.write(to: URL(fileURLWithPath: truncated))
        try handle.close()
        #expect(throws: ModelError.self) { try E5Engine(files: ModelFiles(engine: files.engine, weights: truncated)) }
        do {
            _ = try E5Engine(files: ModelFiles(engine: files.engine, weights: truncated))
        } catch let error as ModelError {
            #expect(error.code == .weightsRefused)
            #expect(error.description.contains("EMBEDDING_WEIGHTS_SHA256="))
        }
        // A FIFO at the path: refused at once, no hang waiting for a writer.
        let fifo = scratch.path("fifo.bin")
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: ModelError.self) { try E5Engine(files: ModelFiles(engine: files.engine, weights: fifo)) }
        // Not an engine at all.
        #expect(throws: ModelError.self) { try E5Engine(files: ModelFiles(engine: truncated, weights: files.weights)) }
    }

    @Test func aMissingModelSaysHowToInstallItOrDoWithout() throws {
        do {
            _ = try ModelFiles.locate(engine: nil, weights: nil, directory: "/nonexistent/faqsync-model")
            Issue.record("a missing model was found")
        } catch let error as ModelError {
            #expect(error.code == .notInstalled)
            #expect(error.description.contains("scripts/install-deps.sh"))
            #expect(error.description.contains("EMBEDDING_PROVIDER=local"))
        }
        // The command line says the same, with its code, and leaves nothing behind.
        let scratch = try TemporaryDirectory("model-missing")
        defer { scratch.remove() }
        let result = try CLIProcess.run(["sync", "--faq", Fixtures.sampleFAQ.path, "--db", scratch.path("faq.db"), "--snapshot", scratch.path("faq.snapshot")],
                                        environment: ["EMBEDDING_PROVIDER": "e5", "EMBEDDING_MODEL_DIR": "/nonexistent/faqsync-model"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("model-not-installed") && result.stderr.contains("EMBEDDING_PROVIDER=local"), "\(result.stderr)")
    }
}
