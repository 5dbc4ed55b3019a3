import Foundation
import GRDB
import Testing
import TestSupport

@Suite("the faqsync command line")
struct CLITests {
    let directory: TemporaryDirectory
    var db: String { directory.path("store.db") }

    init() throws { directory = try TemporaryDirectory("cli") }

    @Test func syncJSONReportsTheCountsAndASecondRunEmbedsNothing() throws {
        let first = try CLIProcess.run(["sync", "--faq", Fixtures.faq.path, "--db", db, "--json"])
        #expect(first.status == 0, "\(first.stderr)")
        let report = try first.json()
        for key in ["new", "modified", "metadata_only", "deleted", "unchanged", "embedded_texts", "embedding_requests",
                    "version_id", "templates", "duration_s"] {
            #expect(report[key] != nil, "sync --json has \(key)")
        }
        #expect(report["new"] as? Int == 201)
        #expect(report["templates"] as? Int == 201)
        #expect(report["embedded_texts"] as? Int == 200)

        let second = try CLIProcess.run(["sync", "--faq", Fixtures.faq.path, "--db", db, "--json"]).json()
        #expect(second["embedded_texts"] as? Int == 0)
        #expect(second["embedding_requests"] as? Int == 0)
        #expect(second["unchanged"] as? Int == 201)
    }

    /// The same bytes under the same settings as the last sync: nothing is read, embedded,
    /// recorded or published. Other bytes, other settings, `--force` or a snapshot that no longer
    /// shows the store take the full path.
    @Test func aNoOpSyncReadsNothingUnlessTheBytesTheSettingsOrTheSnapshotChanged() throws {
        defer { directory.remove() }
        let faq = directory.file("faq.xlsx"), snapshot = directory.path("faq.snapshot")
        try FileManager.default.copyItem(at: Fixtures.sampleFAQ, to: faq)
        let files = ["--faq", faq.path, "--db", db, "--snapshot", snapshot, "--json"]
        func sync(_ extra: [String] = [], environment: [String: String] = [:]) throws -> [String: Any] {
            let run = try CLIProcess.run(["sync"] + extra + files, environment: environment)
            #expect(run.status == 0, "\(run.stderr)")
            return try run.json()
        }
        func runs() throws -> Int { (try CLIProcess.run(["status", "--json", "--db", db, "--snapshot", snapshot]).json()["recent_syncs"] as? [Any])?.count ?? -1 }
        #expect(try sync()["unchanged_file"] as? Bool == false)
        #expect(try runs() == 1)

        let again = try sync()
        #expect(again["unchanged_file"] as? Bool == true && again["templates"] as? Int == 30, "\(again)")
        #expect(try runs() == 1, "nothing happened, so nothing is recorded")
        let text = try CLIProcess.run(["sync", "--faq", faq.path, "--db", db, "--snapshot", snapshot])
        #expect(text.stdout.hasPrefix("Unchanged: the same bytes and settings"), "\(text.stdout)")

        #expect(try sync(["--force", "--yes"])["unchanged_file"] as? Bool == false, "--force reads it anyway")
        #expect(try sync(environment: ["FAQ_COLUMN_QUESTION": "Вопрос клиента"])["unchanged_file"] as? Bool == false,
                "another column name may read other templates")
        #expect(try sync()["unchanged_file"] as? Bool == false, "and back: the settings differ from the last sync's again")
        #expect(try sync()["unchanged_file"] as? Bool == true)
        try FileManager.default.removeItem(atPath: snapshot)
        let republished = try sync()
        #expect(republished["unchanged_file"] as? Bool == false && FileManager.default.fileExists(atPath: snapshot), "a lost snapshot is published again")
        try FileManager.default.removeItem(at: faq)
        try FileManager.default.copyItem(at: Fixtures.faq, to: faq)
        let other = try sync()
        #expect(other["unchanged_file"] as? Bool == false && other["templates"] as? Int == 201, "other bytes are read")
    }

    /// `sync --force` said "modified 201" when nothing had changed; one text was "1 texts".
    @Test func forceSaysReembeddedAndCountsAreSingularWhenOne() throws {
        defer { directory.remove() }
        let snapshot = directory.path("faq.snapshot")
        #expect(try CLIProcess.run(["sync", "--faq", Fixtures.sampleFAQ.path, "--db", db, "--snapshot", snapshot]).status == 0)
        let forced = try CLIProcess.run(["sync", "--force", "--yes", "--faq", Fixtures.sampleFAQ.path, "--db", db, "--snapshot", snapshot])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stdout.contains("re-embedded") && forced.stdout.contains("--force"), "\(forced.stdout)")
        #expect(!forced.stdout.contains("modified "), "\(forced.stdout)")
        #expect(!forced.stdout.contains(" 1 requests") && !forced.stdout.contains(" 1 texts"), "\(forced.stdout)")
    }

    /// `sync --faq nope.xlsx` said so well but created data/faqsync.db and the activity document.
    @Test func aSyncOfAMissingSpreadsheetCreatesNothing() throws {
        defer { directory.remove() }
        let workingDirectory = directory.file("empty")
        try FileManager.default.createDirectory(at: workingDirectory, withIntermediateDirectories: true)
        let result = try CLIProcess.run(["sync", "--faq", "nope.xlsx"], directory: workingDirectory)
        #expect(result.status == 1 && result.stderr.contains("file-not-found"), "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: workingDirectory.path).isEmpty, "nothing is left behind")
    }

    @Test func environmentVariablesWorkLikeFlags() throws {
        let result = try CLIProcess.run(["sync", "--json"], environment: ["FAQ_PATH": Fixtures.sampleFAQ.path, "SQLITE_DB_PATH": db,
                                                                         "EMBEDDING_DIMENSIONS": "128"])
        #expect(result.status == 0, "\(result.stderr)")
        let status = try CLIProcess.run(["status", "--json"], environment: ["SQLITE_DB_PATH": db]).json()
        let current = try #require(status["current_version"] as? [String: Any])
        #expect(current["dimension"] as? Int == 128)
        #expect(current["templates"] as? Int == 30)
    }

    @Test func statusReportsTheStoreAndFailsWhenAVectorIsDamaged() throws {
        #expect(try CLIProcess.run(["sync", "--faq", Fixtures.sampleFAQ.path, "--db", db]).status == 0)
        let healthy = try CLIProcess.run(["status", "--db", db, "--json"])
        #expect(healthy.status == 0)
        let json = try healthy.json()
        #expect((json["integrity"] as? [String: Any])?["passed"] as? Bool == true)
        #expect((json["last_run"] as? [String: Any])?["outcome"] as? String == "succeeded")
        #expect((json["current_version"] as? [String: Any])?["model_name"] as? String == "faqsync-local-hash")

        let queue = try DatabaseQueue(path: db)
        try queue.write { db in try db.execute(sql: "UPDATE templates SET vector = x'0000' WHERE template_id = (SELECT MIN(template_id) FROM templates)") }
        try queue.close()
        let damaged = try CLIProcess.run(["status", "--db", db])
        #expect(damaged.status == 1)
        #expect(damaged.stdout.contains("has a vector of 0 values, expected 1024"))
    }

    @Test func statusOnAMissingStoreSaysWhatToDo() throws {
        let result = try CLIProcess.run(["status", "--db", db])
        #expect(result.status == 1)
        #expect(result.stderr.contains("run `faqsync sync`"))
        #expect(!FileManager.default.fileExists(atPath: db))
    }

    @Test func aBadSpreadsheetExitsNonZeroNamingTheProblemAndKeepsTheStore() throws {
        #expect(try CLIProcess.run(["sync", "--faq", Fixtures.faq.path, "--db", db]).status == 0)
        let before = try CLIProcess.run(["status", "--db", db, "--json"]).json()["current_version"] as? [String: Any]
        let bad = directory.file("bad.xlsx")
        try XLSXWriter.table([["Тема", "Текст"], ["c", "s"]]).write(to: bad)
        let result = try CLIProcess.run(["sync", "--faq", bad.path, "--db", db, "--json"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(bad.path): no header row"))
        let error = try #require(try result.json()["error"] as? [String: Any])
        #expect(error["code"] as? String == "header-not-found")
        // What to do comes apart for scripts, and is in the message for people.
        let hint = try #require(error["hint"] as? String)
        #expect(!hint.isEmpty && (error["message"] as? String)?.contains(hint) == true, "\(error)")
        let after = try CLIProcess.run(["status", "--db", db, "--json"])
        #expect(after.status == 3, "the last sync failed: exit 3 for monitoring")
        let json = try after.json()
        #expect((json["current_version"] as? [String: Any])?["templates"] as? Int == before?["templates"] as? Int)
        #expect((json["last_run"] as? [String: Any])?["outcome"] as? String == "failed")
        #expect((json["last_success"] as? [String: Any])?["templates"] as? Int == 201)
    }

    /// Monitoring runs `status`: its exit code says what is wrong (documented in `status --help`
    /// and README.md), and `--json` says the same in `exit_code` and `problems`.
    @Test func statusExitCodesSayWhatIsWrong() throws {
        defer { directory.remove() }
        let faq = directory.file("faq.xlsx")
        try FileManager.default.copyItem(at: Fixtures.sampleFAQ, to: faq)
        let files = ["--faq", faq.path, "--db", db]
        func status() throws -> (code: Int32, problems: [String]) {
            let run = try CLIProcess.run(["status", "--json"] + files)
            let json = try run.json()
            #expect(json["exit_code"] as? Int == Int(run.status))
            return (run.status, json["problems"] as? [String] ?? ["(none given)"])
        }
        #expect(try CLIProcess.run(["sync"] + files).status == 0)
        #expect(try status() == (0, []))
        #expect(try CLIProcess.run(["status"] + files).stdout.split(separator: "\n").contains { $0.hasPrefix("  health") && $0.hasSuffix(" ok") })

        // The snapshot belongs to the store (beside it, as --db names it); without it, exit 4.
        let snapshot = directory.path("store.snapshot")
        try FileManager.default.removeItem(atPath: snapshot)
        let missing = try status()
        #expect(missing.code == 4 && missing.problems.first?.hasPrefix("no snapshot at \(snapshot)") == true, "\(missing)")
        #expect(try CLIProcess.run(["sync"] + files).status == 0, "the next sync publishes it again")
        #expect(try status() == (0, []))

        // A failed sync: exit 3, while the last good state serves.
        try XLSXWriter.table([["Тема", "Текст"], ["c", "s"]]).write(to: faq)
        #expect(try CLIProcess.run(["sync"] + files).status == 1)
        #expect(try status() == (3, ["the last sync failed"]))
    }

    /// A draft row is skipped and reported in `sync`, `sync --json` and `status`; the rest syncs.
    @Test func aDraftRowIsSkippedAndReportedEverywhere() throws {
        let sheet = directory.file("draft.xlsx")
        try XLSXWriter.table([["Основная категория", "Подкатегория", "Пример вопроса", "Шаблонный ответ"],
                              ["c", "s", "q", "a"], ["c", "s", "", "an answer"], ["c", "s", "q3", "a3"]]).write(to: sheet)
        let result = try CLIProcess.run(["sync", "--faq", sheet.path, "--db", db, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try result.json()
        #expect(json["templates"] as? Int == 2)
        let skipped = try #require(json["skipped_rows"] as? [[String: Any]])
        #expect(skipped.count == 1)
        #expect(skipped.first?["row"] as? Int == 3)
        #expect(skipped.first?["column"] as? String == "C (Пример вопроса)")
        #expect(skipped.first?["code"] as? String == "empty-question")
        #expect((skipped.first?["message"] as? String)?.contains("the question is empty") == true)
        #expect(Set(skipped.first?.keys.map { $0 } ?? []) == ["row", "column", "code", "message"])

        let text = try CLIProcess.run(["sync", "--faq", sheet.path, "--db", db])
        #expect(text.stdout.contains("skipped rows"), "\(text.stdout)")
        #expect(text.stdout.contains("row 3, column C (Пример вопроса): the question is empty"))

        let status = try CLIProcess.run(["status", "--db", db, "--json"]).json()
        #expect((status["skipped_rows"] as? [[String: Any]])?.first?["row"] as? Int == 3)
        #expect(((status["last_run"] as? [String: Any])?["skipped_rows"] as? [[String: Any]])?.count == 1)
        let statusText = try CLIProcess.run(["status", "--db", db])
        #expect(statusText.stdout.contains("skipped rows (fix them in the spreadsheet"), "\(statusText.stdout)")
    }

    @Test func dryRunWritesNothing() throws {
        let result = try CLIProcess.run(["sync", "--faq", Fixtures.faq.path, "--db", db, "--dry-run", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try result.json()["texts_to_embed"] as? Int == 200)
        #expect(!FileManager.default.fileExists(atPath: db))
    }

    @Test func versionsListSetAndCleanAcrossAModelChange() throws {
        let faq = Fixtures.sampleFAQ.path
        #expect(try CLIProcess.run(["sync", "--faq", faq, "--db", db]).status == 0)
        // Without a terminal the model change proceeds without asking.
        let changed = try CLIProcess.run(["sync", "--faq", faq, "--db", db, "--json"], environment: ["EMBEDDING_MODEL_VERSION": "next"])
        #expect(changed.status == 0, "\(changed.stderr)")
        let changedJSON = try changed.json()
        #expect(changedJSON["embedded_texts"] as? Int == 30)
        #expect((changedJSON["previous_model"] as? [String: Any])?["version"] as? String == "2")

        let listed = try CLIProcess.run(["versions", "list", "--db", db])
        #expect(listed.stdout.split(separator: "\n").count == 2)
        #expect(listed.stdout.contains("* 2"))

        #expect(try CLIProcess.run(["versions", "set", "1", "--db", db]).status == 0)
        let back = try CLIProcess.run(["sync", "--faq", faq, "--db", db, "--json"]).json()
        #expect(back["embedded_texts"] as? Int == 0)
        #expect(back["version_id"] as? Int == 1)

        let cleaned = try CLIProcess.run(["versions", "clean", "--db", db, "--json"])
        #expect(cleaned.status == 0)
        #expect((try cleaned.json()["removed_templates"] as? Int) == 30)
        #expect(try CLIProcess.run(["versions", "list", "--db", db]).stdout.split(separator: "\n").count == 1)

        let missing = try CLIProcess.run(["versions", "set", "42", "--db", db])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("there is no version 42"))
    }

    @Test func forceReembedsEverything() throws {
        #expect(try CLIProcess.run(["sync", "--faq", Fixtures.sampleFAQ.path, "--db", db]).status == 0)
        let forced = try CLIProcess.run(["sync", "--faq", Fixtures.sampleFAQ.path, "--db", db, "--force", "--json", "--validate"])
        #expect(forced.status == 0)
        let json = try forced.json()
        #expect(json["embedded_texts"] as? Int == 30)
        #expect((json["integrity"] as? [String: Any])?["passed"] as? Bool == true)
    }

    @Test func unsupportedSettingsAreClearErrors() throws {
        let result = try CLIProcess.run(["sync", "--db", db], environment: ["EMBEDDING_DIMENSIONS": "zero"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("EMBEDDING_DIMENSIONS must be a whole number from 1 to 16000, not 'zero'"))
    }
}

@Suite("store backup")
struct StoreBackupTests {
    /// A backup taken while another process syncs 3,000 templates is one self-contained,
    /// consistent file: the state before that sync or after it, never between.
    @Test func aBackupDuringASyncIsConsistentAndSelfContained() async throws {
        let directory = try TemporaryDirectory("backup")
        defer { directory.remove() }
        let db = directory.path("store.db")
        #expect(try CLIProcess.run(["sync", "--faq", Fixtures.faq.path, "--db", db]).status == 0)
        let big = directory.file("big.xlsx")
        try GeneratedFAQ(count: 3_000).writeXLSX(to: big)
        let (sync, _, _) = try CLIProcess.start(["sync", "--faq", big.path, "--db", db])

        let backupPath = directory.path("copy.db")
        let backup = try CLIProcess.run(["store", "backup", backupPath, "--db", db, "--json"])
        sync.waitUntilExit()
        #expect(backup.status == 0, "\(backup.stderr)")
        #expect(sync.terminationStatus == 0)
        let report = try backup.json()
        let templates = try #require(report["templates"] as? Int)
        #expect(templates == 201 || templates == 3_000, "a committed state: \(templates)")

        #expect(!FileManager.default.fileExists(atPath: backupPath + "-wal"), "no WAL beside the copy")
        let attributes = try FileManager.default.attributesOfItem(atPath: backupPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let copy = try DatabaseQueue(path: backupPath, configuration: { var c = Configuration(); c.readonly = true; return c }())
        let (mode, check, count) = try await copy.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try String.fetchAll(db, sql: "PRAGMA quick_check"),
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM templates"))
        }
        try copy.close()
        #expect(mode == "delete")
        #expect(check == ["ok"])
        #expect(count == templates)

        // The copy is a working store: status reads it whole (a backup has no snapshot beside it
        // until a sync publishes one: exit 4), and it never overwrites a file.
        let restored = try CLIProcess.run(["status", "--db", backupPath, "--json"])
        let restoredIntegrity = try restored.json()["integrity"] as? [String: Any]
        #expect(restored.status == 4 && restoredIntegrity?["passed"] as? Bool == true, "\(restored.stdout)")
        let again = try CLIProcess.run(["store", "backup", backupPath, "--db", db])
        #expect(again.status == 1)
        #expect(again.stderr.contains("exists already"))
    }

    @Test func aPostgreSQLStoreIsPointedAtPgDump() throws {
        let result = try CLIProcess.run(["store", "backup", "/tmp/never.db"], environment: ["STORAGE_BACKEND": "postgres"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("pg_dump"))
    }
}

@Suite("recent syncs in status")
struct RecentSyncsTests {
    /// `status --json` lists the recent syncs, newest first, each with the templates it touched.
    @Test func statusListsRecentSyncsWithTheirChanges() throws {
        let directory = try TemporaryDirectory("recent-syncs")
        defer { directory.remove() }
        let db = directory.path("store.db"), sheet = directory.file("faq.xlsx")
        let header = ["Основная категория", "Подкатегория", "Пример вопроса", "Шаблонный ответ"]
        try XLSXWriter.table([header, ["c", "s", "Первый?", "a"], ["c", "s", "Второй?", "b"]]).write(to: sheet)
        #expect(try CLIProcess.run(["sync", "--faq", sheet.path, "--db", db]).status == 0)
        try XLSXWriter.table([header, ["c", "s", "Первый?", "a, исправлено"], ["c", "s", "Третий?", "c"]]).write(to: sheet)
        #expect(try CLIProcess.run(["sync", "--faq", sheet.path, "--db", db], environment: ["SYNC_HISTORY": "5"]).status == 0)

        let status = try CLIProcess.run(["status", "--db", db, "--json"])
        #expect(status.status == 0, "\(status.stderr)")
        let recent = try #require(try status.json()["recent_syncs"] as? [[String: Any]])
        #expect(recent.count == 2)
        let changes = try #require(recent.first?["changes"] as? [[String: String]])
        #expect(Set(changes.map { "\($0["kind"] ?? ""): \($0["question"] ?? "")" }) == ["modified: Первый?", "new: Третий?", "deleted: Второй?"])
        #expect(changes.allSatisfy { $0["template_id"]?.isEmpty == false })
        #expect((recent.last?["changes"] as? [[String: String]])?.count == 2)
        let text = try CLIProcess.run(["status", "--db", db])
        #expect(text.stdout.contains("recent changes:") && text.stdout.contains("deleted: Второй?"), "\(text.stdout)")
        #expect(try CLIProcess.run(["status", "--db", db], environment: ["SYNC_HISTORY": "0"]).status == 1, "a setting out of range is refused")
    }
}
