import Foundation
import SnapshotReader
import Testing
import TestSupport

/// The numpy reader shown in docs/snapshot-format.md, run as written against a real snapshot.
@Suite("the documented Python reader")
struct PythonReaderTests {
    static var pythonWithNumpy: Bool {
        (try? CLIProcess.runTool("/usr/bin/env", ["python3", "-c", "import numpy"]).status) == 0
    }

    static func documentedReader() throws -> String {
        let document = try String(contentsOf: Fixtures.projectRoot.appendingPathComponent("docs/snapshot-format.md"), encoding: .utf8)
        let start = try #require(document.range(of: "```python\n"))
        let end = try #require(document.range(of: "\n```", range: start.upperBound..<document.endIndex))
        return String(document[start.upperBound..<end.lowerBound])
    }

    @Test(.enabled(if: pythonWithNumpy, "needs python3 with numpy"))
    func theDocumentedReaderAgreesWithTheSwiftReader() async throws {
        let fixture = try await PublishedFixture.make("python-reader")
        defer { fixture.directory.remove() }
        let script = fixture.directory.file("reader.py")
        try Self.documentedReader().write(to: script, atomically: true, encoding: .utf8)
        #expect(try Self.documentedReader().split(separator: "\n").count <= 34, "the doc promises a reader of about 30 lines")

        let result = try CLIProcess.runTool("/usr/bin/env", ["python3", script.path, fixture.snapshotPath])
        #expect(result.status == 0, "\(result.stderr)")
        let output = try result.json()

        let snapshot = try MappedSnapshot(path: fixture.snapshotPath)
        #expect(output["generation"] as? Int == Int(snapshot.generation))
        #expect(output["count"] as? Int == snapshot.contents.count)
        #expect(output["model"] as? [String] == [snapshot.header.modelName, snapshot.header.modelVersion])
        #expect(output["first_id"] as? String == snapshot.contents.string(0, .id))
        let nearest = try snapshot.search(Array(snapshot.contents.vector(0)), k: 3).results.map(\.id)
        #expect(output["nearest_to_first"] as? [String] == nearest)

        // The lexical section as numpy reads it: the same postings as the Swift reader's.
        let lexical = try #require(snapshot.contents.top.lexical)
        let term = try #require(output["term"] as? String)
        let postings = lexical.postings(of: term).compactMap { lexical.posting($0) }.map { snapshot.contents.string($0.template, .id) }
        #expect(!postings.isEmpty)
        #expect(output["templates_with_term"] as? [String] == postings)
    }
}
