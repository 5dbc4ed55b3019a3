import Foundation
import Testing
import TestSupport

/// The examples in README.md and docs/ are run, so the docs cannot drift from the program.
///
/// Every ```sh block is preceded by a marker saying whether it runs:
/// - `<!-- example: runs -->`: each command runs, in order, in a copy of the project made for the
///   document (its `data/`, with `../shared` beside it), with `faqsync` on the PATH and the
///   defaults of a fresh clone (the in-process model). A `# …` line right after a command is what
///   that command prints: some line of its output must hold it (`…` stands for anything).
/// - `<!-- example: runs after `CMD` -->`: the same, after CMD has run (e.g. a sync first).
/// - `<!-- example: not run: WHY -->`: a block that cannot run here (root, systemd, a fixed port, a
///   remote model, a benchmark of minutes), with the reason, which names the test that covers it
///   where one does.
/// A block without a marker fails the test, so a new example has to choose.
///
/// Running a command, the test makes three substitutions a reader would not notice: `swift run -c
/// release faqsync` is the built `faqsync`; `bash scripts/install-deps.sh && ` is dropped (the test
/// command installed everything); `/tmp/` is the copy's own temporary directory.
@Suite("doc examples", .serialized)
struct DocExamplesTests {
    struct Example {
        enum Marker: Equatable {
            case runs(after: String?)
            case notRun(reason: String)
        }
        let file: String
        let line: Int
        let marker: Marker?
        /// Commands (continuation lines joined) with the output lines shown after each.
        let commands: [(command: String, shown: [String])]
    }

    static let documents = ["README.md"] + ((try? FileManager.default.contentsOfDirectory(
        atPath: Fixtures.projectRoot.appendingPathComponent("docs").path)) ?? []).filter { $0.hasSuffix(".md") }.sorted().map { "docs/\($0)" }

    static func examples(in file: String) throws -> [Example] {
        let text = try String(contentsOf: Fixtures.projectRoot.appendingPathComponent(file), encoding: .utf8)
        let lines = text.components(separatedBy: "\n")
        var examples: [Example] = []
        var index = 0
        while index < lines.count {
            guard lines[index].hasPrefix("```sh") else { index += 1; continue }
            let start = index
            var end = index + 1
            while end < lines.count, !lines[end].hasPrefix("```") { end += 1 }
            var previous = start - 1
            while previous >= 0, lines[previous].trimmingCharacters(in: .whitespaces).isEmpty { previous -= 1 }
            let marker = previous >= 0 ? Self.marker(lines[previous]) : nil
            examples.append(Example(file: file, line: start + 1, marker: marker, commands: Self.commands(Array(lines[(start + 1)..<end]))))
            index = end + 1
        }
        return examples
    }

    static func marker(_ line: String) -> Example.Marker? {
        if let match = line.wholeMatch(of: /<!-- example: runs after `(.+)` -->/) { return .runs(after: String(match.output.1)) }
        if line == "<!-- example: runs -->" { return .runs(after: nil) }
        if let match = line.wholeMatch(of: /<!-- example: not run: (.+) -->/) { return .notRun(reason: String(match.output.1)) }
        return nil
    }

    /// Command lines (a trailing `\` continues one) and the `# ` lines right after each.
    static func commands(_ lines: [String]) -> [(command: String, shown: [String])] {
        var result: [(command: String, shown: [String])] = []
        var pending = ""
        var afterCommand = false
        for line in lines {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { afterCommand = false; continue }
            if trimmed.hasPrefix("#") {
                if afterCommand, !result.isEmpty {
                    result[result.count - 1].shown.append(String(trimmed.dropFirst()).trimmingCharacters(in: .whitespaces))
                }
                continue
            }
            if trimmed.hasSuffix("\\") { pending += trimmed.dropLast().trimmingCharacters(in: .whitespaces) + " "; continue }
            result.append((pending.isEmpty ? line : pending + trimmed, []))
            pending = ""
            afterCommand = true
        }
        return result
    }

    /// Whether some line of `output` holds `shown`'s parts, in order (`…` between them).
    static func shows(_ output: String, _ shown: String) -> Bool {
        let parts = shown.components(separatedBy: "…").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return output.components(separatedBy: "\n").contains { line in
            var rest = Substring(line)
            for part in parts {
                guard let range = rest.range(of: part) else { return false }
                rest = rest[range.upperBound...]
            }
            return true
        }
    }

    @Test func everyExampleSaysWhetherItRuns() throws {
        var unmarked: [String] = []
        var total = 0, running = 0
        for file in Self.documents {
            for example in try Self.examples(in: file) {
                total += 1
                switch example.marker {
                case nil: unmarked.append("\(file):\(example.line)")
                case .runs?: running += 1
                case .notRun(let reason)?: #expect(reason.count > 10, "\(file):\(example.line): say why it is not run")
                }
            }
        }
        #expect(unmarked == [], "add <!-- example: runs --> or <!-- example: not run: WHY --> before each")
        #expect(total > 20 && running >= 5, "\(running) of \(total) examples run")
    }

    @Test(arguments: documents)
    func theExamplesRunAsWritten(_ file: String) throws {
        let runnable = try Self.examples(in: file).filter { if case .runs = $0.marker { true } else { false } }
        guard !runnable.isEmpty else { return }
        // A copy of the project as a fresh clone has it, with ../shared beside it.
        let sandbox = try TemporaryDirectory("doc-examples")
        defer { sandbox.remove() }
        let project = sandbox.url.appendingPathComponent("project"), bin = sandbox.url.appendingPathComponent("bin")
        for directory in [project, bin, sandbox.url.appendingPathComponent("tmp")] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        try FileManager.default.copyItem(at: Fixtures.projectRoot.appendingPathComponent("data/faq-sample.xlsx"),
                                         to: project.appendingPathComponent("data/faq-sample.xlsx", isDirectory: false).creatingParent())
        try FileManager.default.createSymbolicLink(at: sandbox.url.appendingPathComponent("shared"),
                                                   withDestinationURL: Fixtures.projectRoot.deletingLastPathComponent().appendingPathComponent("shared"))
        try FileManager.default.createSymbolicLink(at: bin.appendingPathComponent("faqsync"), withDestinationURL: CLIProcess.binary)
        let environment = ["PATH": "\(bin.path):/usr/bin:/bin", "EMBEDDING_PROVIDER": "e5"]

        func run(_ command: String, at place: String) throws -> BoundedProcess.Outcome {
            let line = command
                .replacingOccurrences(of: "swift run -c release faqsync", with: "faqsync")
                .replacingOccurrences(of: "bash scripts/install-deps.sh && ", with: "")
                .replacingOccurrences(of: "/tmp/", with: sandbox.url.appendingPathComponent("tmp").path + "/")
            let outcome = try BoundedProcess.run(["-c", line], environment: environment, directory: project,
                                                 deadline: .seconds(180), binary: URL(fileURLWithPath: "/bin/bash"))
            #expect(outcome.exitStatus == 0, "\(place): `\(line)` \(outcome)")
            return outcome
        }
        for example in runnable {
            let place = "\(file):\(example.line)"
            if case .runs(let after?) = example.marker { _ = try run(after, at: place) }
            for (command, shown) in example.commands where command != "bash scripts/test.sh" {
                #expect(!command.trimmingCharacters(in: .whitespaces).hasSuffix("&"), "\(place): a background command cannot be checked")
                let outcome = try run(command, at: place)
                for line in shown {
                    #expect(Self.shows(outcome.stdout + outcome.stderr, line), "\(place): `\(command)` does not print «\(line)»:\n\(outcome.stdout.prefix(2_000))")
                }
            }
        }
    }

    /// The matcher itself: a shown line must be found, in order, or the check fails.
    @Test func aShownLineMustBePrinted() {
        #expect(Self.shows("a\nImported 201 vectors of bge-m3 v1 (1024 dimensions) to x\n", "Imported 201 vectors … (1024 dimensions) …"))
        #expect(!Self.shows("Imported 200 vectors of bge-m3\n", "Imported 201 vectors …"))
        #expect(!Self.shows("(1024 dimensions) Imported 201\n", "Imported 201 … (1024 dimensions)"), "order matters")
        let parsed = Self.commands(["# a comment", "faqsync x \\", "  --y", "# shown", "", "# commentary", "faqsync z"])
        #expect(parsed.map(\.command) == ["faqsync x --y", "faqsync z"])
        #expect(parsed.map(\.shown) == [["shown"], []])
    }
}

private extension URL {
    /// The URL, after creating its parent directory.
    func creatingParent() throws -> URL {
        try FileManager.default.createDirectory(at: deletingLastPathComponent(), withIntermediateDirectories: true)
        return self
    }
}
