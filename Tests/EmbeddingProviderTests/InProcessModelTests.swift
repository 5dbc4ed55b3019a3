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

    /// A process that finds a record of exactly this file, written by this user, skips the hash;
    /// any change to the file, or a record it cannot trust, means hashing again.
    @Test func verifiedWeightsAreNotHashedAgainUntilTheFileChanges() throws {
        let files = try ModelFiles.locate(engine: nil, weights: nil, directory: nil)
        let scratch = try TemporaryDirectory("weights-record")
        defer { scratch.remove() }
        // Parents are created too, private to the user.
        let record = WeightsRecord(directory: scratch.path("cache/faqsync"))
        let first = try E5Engine(files: files, record: record)
        #expect(first.weightsCheck == .hashed)
        var status = stat()
        #expect(stat(record.path, &status) == 0 && status.st_mode & 0o777 == 0o600)
        let second = try E5Engine(files: files, record: record)
        #expect(second.weightsCheck == .remembered)
        #expect(second.weightsSHA256 == first.weightsSHA256)

        // A file written a moment ago is hashed but not remembered: a write in the same clock
        // tick would leave its identity unchanged.
        let copy = scratch.path("copy.bin")
        try FileManager.default.copyItem(atPath: files.weights, toPath: copy)
        let copied = ModelFiles(engine: files.engine, weights: copy)
        #expect(try E5Engine(files: copied, record: record).weightsCheck == .hashed)
        #expect(try E5Engine(files: copied, record: record).weightsCheck == .hashed)
        #expect(try E5Engine(files: files, record: record).weightsCheck == .remembered, "the quiet file's record stays")

        // Remembered (no quiet period asked for), then damaged in place: hashed again, refused.
        let eager = WeightsRecord(directory: scratch.path("eager"), quietPeriod: 0)
        #expect(try E5Engine(files: copied, record: eager).weightsCheck == .hashed)
        #expect(try E5Engine(files: copied, record: eager).weightsCheck == .remembered)
        #expect(truncate(copy, 1 << 20) == 0)
        #expect(throws: ModelError.self) { try E5Engine(files: copied, record: eager) }
    }

    @Test func aRecordAnotherUserCouldHaveWrittenIsNotTrusted() throws {
        let files = try ModelFiles.locate(engine: nil, weights: nil, directory: nil)
        let scratch = try TemporaryDirectory("weights-record-hostile")
        defer { scratch.remove() }
        let record = WeightsRecord(directory: scratch.path("cache"))
        _ = try E5Engine(files: files, record: record)
        let genuine = try String(contentsOfFile: record.path, encoding: .utf8)
        #expect(try E5Engine(files: files, record: record).weightsCheck == .remembered)

        // Writable by others: ignored (and replaced by a private one).
        #expect(chmod(record.path, 0o666) == 0)
        #expect(try E5Engine(files: files, record: record).weightsCheck == .hashed)
        #expect(try E5Engine(files: files, record: record).weightsCheck == .remembered)
        // In a directory others can write: ignored, and nothing is written there.
        var before = stat(), after = stat()
        #expect(stat(record.path, &before) == 0)
        #expect(chmod(record.directory, 0o777) == 0)
        #expect(try E5Engine(files: files, record: record).weightsCheck == .hashed)
        #expect(chmod(record.directory, 0o700) == 0)
        #expect(stat(record.path, &after) == 0 && after.st_ino == before.st_ino, "a record was written into a directory others can write")
        // A symbolic link in its place: not followed.
        #expect(unlink(record.path) == 0)
        try genuine.write(toFile: scratch.path("elsewhere"), atomically: true, encoding: .utf8)
        #expect(symlink(scratch.path("elsewhere"), record.path) == 0)
        #expect(try E5Engine(files: files, record: record).weightsCheck == .hashed)
        // Garbage, an overlong record, another file's identity, or a digest faqsync does not trust.
        let fields = genuine.split(separator: " ")
        let otherInode = fields.enumerated().map { $0.offset == 2 ? String(UInt64($0.element)! + 1) : String($0.element) }.joined(separator: " ")
        let untrusted = fields.dropLast().joined(separator: " ") + " " + String(repeating: "0", count: 64) + "\n"
        for forged in ["", "garbage\n", String(repeating: genuine, count: 20), otherInode, untrusted, genuine.replacingOccurrences(of: "\n", with: "")] {
            unlink(record.path)
            try forged.write(toFile: record.path, atomically: false, encoding: .utf8)
            #expect(chmod(record.path, 0o600) == 0)
            #expect(try E5Engine(files: files, record: record).weightsCheck == .hashed, "\(forged.prefix(60))")
        }
        // The genuine record is used again.
        #expect(try E5Engine(files: files, record: record).weightsCheck == .remembered)
    }

    /// Where a command puts the record, as a user runs it: ~/.cache/faqsync, the XDG cache
    /// directory when one is set, the configured directory, or nowhere with `off`.
    @Test func theCommandsKeepTheRecordWhereTheUserKeepsCaches() throws {
        let scratch = try TemporaryDirectory("weights-record-cli")
        defer { scratch.remove() }
        let faq = scratch.path("faq.csv")
        try "Category,Subcategory,Question,Answer\nКарты,Блокировка,Как заблокировать карту?,Позвоните в банк.\n"
            .write(toFile: faq, atomically: true, encoding: .utf8)
        func sync(_ environment: [String: String]) throws {
            let base = ["EMBEDDING_PROVIDER": "e5", "XDG_CACHE_HOME": "", "CACHE_DIRECTORY": "", "EMBEDDING_WEIGHTS_RECORD_DIR": ""]
            let result = try CLIProcess.run(["sync", "--faq", faq, "--db", scratch.path("faq.db"), "--force"],
                                            environment: base.merging(environment) { $1 })
            #expect(result.status == 0, "\(result.stderr)")
        }
        let record = "/" + WeightsRecord.fileName
        try sync(["HOME": scratch.path("home")])
        #expect(FileManager.default.fileExists(atPath: scratch.path("home/.cache/faqsync") + record))
        try sync(["HOME": scratch.path("home2"), "XDG_CACHE_HOME": scratch.path("xdg")])
        #expect(FileManager.default.fileExists(atPath: scratch.path("xdg/faqsync") + record))
        #expect(!FileManager.default.fileExists(atPath: scratch.path("home2")))
        try sync(["HOME": scratch.path("home3"), "EMBEDDING_WEIGHTS_RECORD_DIR": scratch.path("configured")])
        #expect(FileManager.default.fileExists(atPath: scratch.path("configured") + record))
        try sync(["HOME": scratch.path("home4"), "EMBEDDING_WEIGHTS_RECORD_DIR": "off"])
        #expect(!FileManager.default.fileExists(atPath: scratch.path("home4")))
        let relative = try CLIProcess.run(["sync", "--faq", faq, "--db", scratch.path("faq.db")],
                                          environment: ["EMBEDDING_PROVIDER": "e5", "EMBEDDING_WEIGHTS_RECORD_DIR": "record"])
        #expect(relative.status != 0 && relative.stderr.contains("EMBEDDING_WEIGHTS_RECORD_DIR"), "\(relative.stderr)")
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
