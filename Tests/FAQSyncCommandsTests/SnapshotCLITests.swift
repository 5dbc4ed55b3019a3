import Foundation
import Testing
import TestSupport

@Suite("snapshot publication from the command line")
struct SnapshotCLITests {
    @Test func syncPublishesOnChangeOnlyAndQueryAnswersFromTheSnapshot() throws {
        let directory = try TemporaryDirectory("cli-snapshot")
        defer { directory.remove() }
        let db = directory.path("store.db"), snapshot = directory.path("faq.snapshot"), faq = directory.file("faq.xlsx")
        try FileManager.default.copyItem(at: Fixtures.sampleFAQ, to: faq)
        let common = ["--faq", faq.path, "--db", db, "--snapshot", snapshot, "--json"]

        let first = try CLIProcess.run(["sync"] + common)
        #expect(first.status == 0, "\(first.stderr)")
        #expect((try first.json()["snapshot"] as? [String: Any])?["published_generation"] as? Int == 1)
        let mode = try FileManager.default.attributesOfItem(atPath: snapshot)[.posixPermissions] as? Int
        #expect(mode == 0o440)

        // Nothing changed: the file is current and is not rewritten.
        let noop = try CLIProcess.run(["sync"] + common)
        #expect((try noop.json()["snapshot"] as? [String: Any])?["published_generation"] == nil)

        // A deleted snapshot file is noticed and published again, with a higher generation.
        try FileManager.default.removeItem(atPath: snapshot)
        let restored = try CLIProcess.run(["sync"] + common)
        #expect((try restored.json()["snapshot"] as? [String: Any])?["published_generation"] as? Int == 2)

        let query = try CLIProcess.run(["query", "How do I open a deposit?", "-k", "3"] + common)
        #expect(query.status == 0, "\(query.stderr)")
        let answer = try query.json()
        #expect(answer["generation"] as? Int == 2)
        let results = try #require(answer["results"] as? [[String: Any]])
        #expect(results.count == 3)
        #expect(results.first?["question"] as? String == "How do I open a deposit?")
        for key in ["id", "score", "category", "subcategory", "question", "answer"] { #expect(results[0][key] != nil) }

        let shown = try CLIProcess.run(["snapshot", "show"] + common).json()
        #expect(shown["templates"] as? Int == 30)
        #expect(shown["generation"] as? Int == 2)

        // A model the snapshot was not built with is refused, not silently compared.
        let mismatch = try CLIProcess.run(["query", "deposit"] + common, environment: ["EMBEDDING_DIMENSIONS": "128"])
        #expect(mismatch.status == 1)
        #expect(mismatch.stderr.contains("is not the snapshot's model"))
    }

    @Test func versionsSetRepublishesSoReadersSwitchAtOnce() throws {
        let directory = try TemporaryDirectory("cli-versions-snapshot")
        defer { directory.remove() }
        let common = ["--faq", Fixtures.sampleFAQ.path, "--db", directory.path("store.db"), "--snapshot", directory.path("s.snapshot")]
        #expect(try CLIProcess.run(["sync"] + common).status == 0)
        #expect(try CLIProcess.run(["sync"] + common, environment: ["EMBEDDING_DIMENSIONS": "128"]).status == 0)
        #expect(try CLIProcess.run(["snapshot", "show", "--json"] + common).json()["dimension"] as? Int == 128)
        let set = try CLIProcess.run(["versions", "set", "1"] + common)
        #expect(set.status == 0)
        #expect(set.stdout.contains("Snapshot generation 3 published"))
        let shown = try CLIProcess.run(["snapshot", "show", "--json"] + common).json()
        #expect(shown["dimension"] as? Int == 1024)
        #expect(shown["generation"] as? Int == 3)
    }

    @Test func aDamagedSnapshotIsReportedByShowAndReplacedByPublish() throws {
        let directory = try TemporaryDirectory("cli-damaged")
        defer { directory.remove() }
        let path = directory.path("s.snapshot")
        let common = ["--faq", Fixtures.sampleFAQ.path, "--db", directory.path("store.db"), "--snapshot", path]
        #expect(try CLIProcess.run(["sync"] + common).status == 0)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 1] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        let show = try CLIProcess.run(["snapshot", "show"] + common)
        #expect(show.status == 1)
        #expect(show.stderr.contains("checksum"))
        let publish = try CLIProcess.run(["snapshot", "publish"] + common)
        #expect(publish.status == 0)
        #expect(try CLIProcess.run(["snapshot", "show"] + common).status == 0)
    }
}
