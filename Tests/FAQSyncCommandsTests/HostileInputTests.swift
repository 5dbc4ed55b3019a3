import Foundation
import GRDB
import Testing
import TestSupport

/// The hostile-input issue, as a user meets it with the built binary: every crafted file and
/// setting ends in exit 1 with a message naming what is wrong (never a signal), within the
/// deadline and 1 GiB, and the store and the snapshot stay as they were.
@Suite("hostile input: the command line", .serialized)
struct HostileInputCLITests {
    let directory: TemporaryDirectory
    var db: String { directory.path("store.db") }
    var snapshot: String { directory.path("faqsync.snapshot") }

    static let memoryBound = 1 << 30

    init() throws { directory = try TemporaryDirectory("hostile-cli") }

    /// A synced store and its snapshot: what must survive every hostile input unchanged.
    func syncGoodFile() throws {
        let good = try CLIProcess.run(["sync", "--faq", Fixtures.sampleFAQ.path, "--db", db, "--snapshot", snapshot])
        #expect(good.status == 0, "\(good.stderr)")
    }

    /// The store's content, every table but the audit log (which records the refused sync).
    func storeContent() throws -> [String] {
        let queue = try DatabaseQueue(path: db, configuration: { var c = Configuration(); c.readonly = true; return c }())
        defer { try? queue.close() }
        return try queue.read { db in
            try ["embedding_versions", "templates", "embedding_cache", "snapshot_publications", "quarantined_templates"].flatMap { table in
                try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY 1, 2").map { "\(table): \($0.description)" }
            }
        }
    }

    func expectRefused(_ outcome: BoundedProcess.Outcome, code: String, mentioning words: [String]) {
        #expect(outcome.exitStatus == 1, "\(outcome)")
        #expect(outcome.signal == nil && !outcome.killedAtDeadline, "\(outcome)")
        #expect(outcome.peakResidentBytes < Self.memoryBound, "\(outcome)")
        #expect(outcome.stderr.contains("error [\(code)]"), "\(outcome)")
        for word in words { #expect(outcome.stderr.contains(word), "'\(word)' in \(outcome)") }
    }

    @Test(arguments: HostileSpreadsheet.all)
    func aHostileSpreadsheetIsRefusedAndNothingChanges(_ hostile: HostileSpreadsheet) throws {
        defer { directory.remove() }
        try syncGoodFile()
        let contentBefore = try storeContent()
        let snapshotBefore = try Data(contentsOf: URL(fileURLWithPath: snapshot))
        let file = try hostile.write(to: directory.file(hostile.fileName))

        let outcome = try BoundedProcess.run(["sync", "--faq", file.path, "--db", db, "--snapshot", snapshot, "--json"])
        expectRefused(outcome, code: hostile.expectedCode, mentioning: [file.path, hostile.expectedMessage])
        let error = try outcome.json()["error"] as? [String: Any]
        #expect(error?["code"] as? String == hostile.expectedCode)

        #expect(try storeContent() == contentBefore, "the store's content is as it was")
        #expect(try Data(contentsOf: URL(fileURLWithPath: snapshot)) == snapshotBefore, "the snapshot is byte for byte as it was")
        let status = try CLIProcess.run(["status", "--db", db, "--snapshot", snapshot, "--json"]).json()
        let lastRun = status["last_run"] as? [String: Any]
        #expect(lastRun?["outcome"] as? String == "failed", "the refusal is recorded in the audit log")
        #expect((lastRun?["error"] as? String)?.contains(hostile.expectedMessage) == true)
    }

    /// Issue "Hostile neighbours", item 6: files far beyond any FAQ were read whole (a 1M-row csv
    /// took 13 s and 1.4 GB; a 300 MiB one was refused only after streaming 256 MiB). Now a file's
    /// size refuses it before a byte is read, and rows and cells while reading.
    @Test func aFileFarBeyondAnyFAQIsRefusedAsEarlyAsItsSizeIsKnown() throws {
        defer { directory.remove() }
        let huge = directory.path("huge.csv")
        #expect(FileManager.default.createFile(atPath: huge, contents: Data("category,subcategory,question,answer\n".utf8)))
        #expect(truncate(huge, 300 << 20) == 0, "a sparse 300 MiB file: no disk, no reading")
        let sized = try BoundedProcess.run(["sync", "--faq", huge, "--db", db, "--snapshot", snapshot])
        expectRefused(sized, code: "limit-exceeded", mentioning: ["larger than 128 MiB", "300 MiB"])

        let rows = directory.path("rows.csv")
        var text = "category,subcategory,question,answer\n"
        text.reserveCapacity(40 << 20)
        for index in 0..<1_000_000 { text += "c,s,q\(index),a\(index)\n" }
        try Data(text.utf8).write(to: URL(fileURLWithPath: rows))
        let counted = try BoundedProcess.run(["sync", "--faq", rows, "--db", db, "--snapshot", snapshot], deadline: .seconds(60))
        expectRefused(counted, code: "limit-exceeded", mentioning: ["more than 200000 rows"])
        print("300 MiB csv refused in \(String(format: "%.2f", sized.seconds)) s (peak \(sized.peakResidentBytes >> 20) MiB); 1M-row csv refused in \(String(format: "%.2f", counted.seconds)) s (peak \(counted.peakResidentBytes >> 20) MiB)")
    }

    /// A git SHA as the model version, or a long model name, is refused when the configuration
    /// is built: nothing is read or written, so the store file is byte for byte the same.
    @Test(arguments: [
        ["EMBEDDING_MODEL_VERSION": "0123456789abcdef0123456789abcdef01234567"],
        ["EMBEDDING_PROVIDER": "openai", "EMBEDDING_BASE_URL": "http://127.0.0.1:9/v1", "EMBEDDING_MODEL": String(repeating: "m", count: 64)],
    ])
    func aModelIdentityTheSnapshotCannotHoldIsRefusedBeforeAnything(environment: [String: String]) throws {
        defer { directory.remove() }
        try syncGoodFile()
        let storeBefore = try Data(contentsOf: URL(fileURLWithPath: db))
        let snapshotBefore = try Data(contentsOf: URL(fileURLWithPath: snapshot))
        let outcome = try BoundedProcess.run(["sync", "--faq", Fixtures.sampleFAQ.path, "--db", db, "--snapshot", snapshot],
                                             environment: environment)
        let key = environment["EMBEDDING_MODEL_VERSION"] != nil ? "EMBEDDING_MODEL_VERSION" : "EMBEDDING_MODEL"
        expectRefused(outcome, code: "configuration", mentioning: ["configuration \(key) must be at most", "bytes"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == storeBefore)
        #expect(try Data(contentsOf: URL(fileURLWithPath: snapshot)) == snapshotBefore)
    }

    @Test(arguments: SnapshotHeaderDamage.allCases)
    func aSnapshotWhoseHeaderOverflowsIsRefusedAndTheNextSyncReplacesIt(damage: SnapshotHeaderDamage) throws {
        defer { directory.remove() }
        try syncGoodFile()
        let good = try Data(contentsOf: URL(fileURLWithPath: snapshot))
        try damage.apply(to: good).write(to: URL(fileURLWithPath: snapshot))

        let show = try BoundedProcess.run(["snapshot", "show", "--snapshot", snapshot])
        #expect(show.exitStatus == 1 && show.signal == nil, "\(show)")
        #expect(show.stderr.contains("error [snapshot-inconsistent]") || show.stderr.contains("error [snapshot-truncated]"), "\(show)")
        #expect(show.stderr.contains(snapshot))

        // The publisher treats the invalid file as "no previous generation"; the store remembers it.
        let sync = try BoundedProcess.run(["sync", "--faq", Fixtures.sampleFAQ.path, "--db", db, "--snapshot", snapshot, "--json"])
        #expect(sync.exitStatus == 0, "\(sync)")
        let published = (try sync.json()["snapshot"] as? [String: Any])?["published_generation"] as? Int
        #expect(published == 2, "one above the store's last publication")
        #expect(try CLIProcess.run(["snapshot", "show", "--snapshot", snapshot]).status == 0)
    }

    /// The shipped etc/faqsync.env lists every setting with an empty value for "unset": used as
    /// it is (as systemd's EnvironmentFile= reads it), it must work.
    @Test func theShippedEnvironmentFileWorksAsItIs() throws {
        defer { directory.remove() }
        var environment = try Self.environmentFile(Fixtures.projectRoot.appendingPathComponent("etc/faqsync.env"))
        #expect(environment["METRICS_ADDRESS"] == "")
        environment["FAQ_PATH"] = Fixtures.sampleFAQ.path
        environment["SQLITE_DB_PATH"] = db
        environment["SNAPSHOT_PATH"] = snapshot
        let result = try BoundedProcess.run(["sync", "--json"], environment: environment)
        #expect(result.exitStatus == 0, "\(result)")
    }

    /// Every bad setting names its key and what it must be, before anything is touched.
    @Test(arguments: [
        ("EMBEDDING_DIMENSIONS", "0"), ("EMBEDDING_DIMENSIONS", "99999999999999999999999"), ("EMBEDDING_BATCH_SIZE", "-1"),
        ("EMBEDDING_MAX_CONCURRENCY", "100000"), ("WATCH_DEBOUNCE_MS", "soon"), ("METRICS_ADDRESS", "nowhere"),
        ("METRICS_ADDRESS", "127.0.0.1:99999"), ("EMBEDDING_INPUT", "answer"), ("LOG_LEVEL", "loud"), ("LOG_FORMAT", "xml"),
        ("STORAGE_BACKEND", "mysql"), ("EMBEDDING_PROVIDER", "magic"),
    ])
    func aBadSettingNamesItsKey(key: String, value: String) throws {
        defer { directory.remove() }
        let result = try BoundedProcess.run(["sync", "--faq", Fixtures.sampleFAQ.path, "--db", db], environment: [key: value])
        expectRefused(result, code: "configuration", mentioning: ["configuration \(key) must"])
        #expect(!FileManager.default.fileExists(atPath: db), "nothing was written")
    }

    @Test(arguments: [
        ["STORAGE_BACKEND": "postgres", "POSTGRES_PORT": "70000"],
        ["STORAGE_BACKEND": "postgres", "POSTGRES_SSLMODE": "sometimes"],
        ["EMBEDDING_PROVIDER": "openai", "EMBEDDING_MODEL": "bge-m3", "EMBEDDING_BASE_URL": "ftp://example.org"],
        ["EMBEDDING_PROVIDER": "openai", "EMBEDDING_MODEL": "text-embedding-3-small"],
    ])
    func badSettingsOfProvidersAndBackendsNameTheirKey(environment: [String: String]) throws {
        defer { directory.remove() }
        let result = try BoundedProcess.run(["sync", "--faq", Fixtures.sampleFAQ.path, "--db", db], environment: environment)
        let key = environment.keys.first { !["STORAGE_BACKEND", "EMBEDDING_PROVIDER", "EMBEDDING_MODEL"].contains($0) } ?? "EMBEDDING_API_KEY"
        expectRefused(result, code: "configuration", mentioning: ["configuration \(key)"])
    }

    /// KEY=value lines as systemd's EnvironmentFile= reads them (comments and blank lines skipped).
    static func environmentFile(_ url: URL) throws -> [String: String] {
        var result: [String: String] = [:]
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty, !text.hasPrefix("#"), let equals = text.firstIndex(of: "=") else { continue }
            result[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        return result
    }
}

/// Foundation's `NSString.deletingLastPathComponent` traps on a one-letter path in this toolchain;
/// faqsync splits paths itself (PathNames), so a store, snapshot and spreadsheet named with one
/// letter work like any other.
@Suite("one-letter paths")
struct OneLetterPathTests {
    @Test func aStoreSnapshotAndSpreadsheetNamedWithOneLetterWork() throws {
        let directory = try TemporaryDirectory("one-letter")
        defer { directory.remove() }
        try FileManager.default.copyItem(at: Fixtures.sampleFAQ, to: directory.file("f.xlsx"))
        let sync = try CLIProcess.run(["sync", "--faq", "f.xlsx", "--db", "d", "--snapshot", "s"], directory: directory.url)
        #expect(sync.status == 0, "\(sync.stderr)")
        let show = try CLIProcess.run(["snapshot", "show", "--snapshot", "s"], directory: directory.url)
        #expect(show.status == 0, "\(show.stderr)")
        let backup = try CLIProcess.run(["store", "backup", "b", "--db", "d"], directory: directory.url)
        #expect(backup.status == 0, "\(backup.stderr)")
    }
}
