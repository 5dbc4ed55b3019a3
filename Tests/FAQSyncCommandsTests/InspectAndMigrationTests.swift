import Crypto
import Foundation
import SpreadsheetReading
import Testing
import TestSupport

/// `faqsync inspect` (what faqsync sees in a spreadsheet) and the way over from the original
/// Python system.
@Suite("inspect and migration")
struct InspectAndMigrationTests {
    let directory: TemporaryDirectory
    init() throws { directory = try TemporaryDirectory("inspect") }

    @Test func inspectShowsTheRealFixtureAsSyncReadsIt() throws {
        let result = try CLIProcess.run(["inspect", "--faq", Fixtures.faq.path, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try result.json()
        #expect(json["file"] as? String == Fixtures.faq.path)
        let sheets = try #require(json["sheets"] as? [[String: Any]])
        let sheet = try #require(sheets.first)
        #expect(sheets.count == 1)
        #expect(sheet["name"] as? String == "vtb_belarus_faq_final.csv")
        #expect(sheet["header_row"] as? Int == 1)
        #expect(sheet["columns"] as? [String: String] == ["category": "A", "subcategory": "B", "question": "C", "answer": "F"])
        let rows = try #require(sheet["rows"] as? [[String]])
        #expect(rows.count == 202, "the header and 201 templates; the 735 formatted-but-empty rows are not rows")
        #expect(rows[0] == ["Основная категория", "Подкатегория", "Пример вопроса", "Приоритет", "Целевая аудитория", "Шаблонный ответ"])
        // Cell for cell what a sync reads.
        let table = try SpreadsheetReader().read(Fixtures.faq)
        #expect(rows.dropFirst().map { $0[2] } == table.rows.map(\.question))
        #expect(rows.dropFirst().map { $0.count > 5 ? $0[5] : "" } == table.rows.map(\.answer))
        #expect(!FileManager.default.fileExists(atPath: CLIProcess.scratchDirectory.appendingPathComponent("data/faqsync.db").path),
                "it reads nothing but the file")

        let text = try CLIProcess.run(["inspect", "--faq", Fixtures.faq.path, "--max-rows", "3"])
        #expect(text.status == 0)
        #expect(text.stdout.contains("sheet 'vtb_belarus_faq_final.csv'"))
        #expect(text.stdout.contains("header row 1: category A, subcategory B, question C, answer F"))
        #expect(text.stdout.contains("kept as metadata: D (Приоритет), E (Целевая аудитория)"))
        #expect(text.stdout.contains("more rows (raise --max-rows)"))
        let dataLines = text.stdout.split(separator: "\n").filter { $0.hasPrefix("  ") && $0.dropFirst(2).first?.isNumber == true }
        #expect(dataLines.count == 4, "the header row and 3 data rows: \(dataLines)")
    }

    /// The original system's flags ended in a bare "Unknown option"; each now names what to use.
    @Test(arguments: [(["sync", "--incremental"], "faqsync sync"), (["--list-versions"], "faqsync versions"),
                      (["sync", "--sqlite-path=old.db"], "--db PATH"), (["sync", "--batch-size", "8"], "EMBEDDING_BATCH_SIZE"),
                      (["sync", "--faq-path", "x.xlsx"], "--faq PATH")])
    func theOriginalSystemsFlagsSayWhatToUseInstead(arguments: [String], replacement: String) throws {
        let result = try CLIProcess.run(arguments)
        #expect(result.status == 64)
        #expect(result.stderr.contains("original system's flag") && result.stderr.contains(replacement), "\(result.stderr)")
        #expect(result.stderr.contains("docs/migrating.md"))
    }

    @Test func withoutAHeaderItSaysWhatItLookedForAndShowsTheRows() throws {
        let url = directory.file("no-header.xlsx")
        try XLSXWriter.table([["Тема", "Текст"], ["Карты", "Как заблокировать?"]]).write(to: url)
        let json = try CLIProcess.run(["inspect", "--faq", url.path, "--json"]).json()
        let sheet = try #require((json["sheets"] as? [[String: Any]])?.first)
        #expect(sheet["header_row"] is NSNull)
        #expect((sheet["header_problem"] as? String)?.contains("'пример вопроса'") == true)
        #expect(sheet["rows"] as? [[String]] == [["Тема", "Текст"], ["Карты", "Как заблокировать?"]])
        let text = try CLIProcess.run(["inspect", "--faq", url.path])
        #expect(text.status == 0, "inspecting is not syncing: a sheet without a header is shown, not refused")
        #expect(text.stdout.contains("no header row: no header row in the first 10 rows has the required columns"))
    }

    @Test func mergedValuesAndMaxRowsApply() throws {
        let url = directory.file("merged.xlsx")
        try HostileSpreadsheet.package(sheetXML: Data(HostileSpreadsheet.sheetWithMerge("A2:A3").utf8)).write(to: url)
        let sheet = try #require((try CLIProcess.run(["inspect", "--faq", url.path, "--json"]).json()["sheets"] as? [[String: Any]])?.first)
        let rows = try #require(sheet["rows"] as? [[String]])
        #expect(rows.last == ["Cards", "", "Second?", "Yes."], "the merged category applies to row 3")
        // --max-rows counts data rows; the header row is listed besides.
        let limited = try #require((try CLIProcess.run(["inspect", "--faq", url.path, "--json", "--max-rows", "1"]).json()["sheets"] as? [[String: Any]])?.first)
        #expect((limited["rows"] as? [[String]])?.count == 2)
        #expect(limited["truncated"] as? Bool == true)
        let all = try #require((try CLIProcess.run(["inspect", "--faq", url.path, "--json", "--max-rows", "2"]).json()["sheets"] as? [[String: Any]])?.first)
        #expect((all["rows"] as? [[String]])?.count == 3 && all["truncated"] as? Bool == false, "\(all)")
        #expect(try CLIProcess.run(["inspect", "--faq", url.path, "--max-rows", "0"]).status != 0)
    }

    @Test func inspectRefusesAHostileFileLikeSyncDoes() throws {
        let url = directory.file("protected.xlsx")
        try CompoundFile.withStreams(["EncryptionInfo", "EncryptedPackage"]).write(to: url)
        let result = try CLIProcess.run(["inspect", "--faq", url.path, "--json"])
        #expect(result.status == 1)
        #expect((try result.json()["error"] as? [String: Any])?["code"] as? String == "password-protected")
    }

    /// SQLITE_DB_PATH pointing at the old system's embeddings.db: recognised, explained, untouched.
    @Test func theOldSystemsStoreIsRecognisedAndLeftUntouched() throws {
        var copies: [URL] = []
        for suffix in ["", "-wal", "-shm"] {
            let source = Fixtures.directory.appendingPathComponent("legacy-smart-support-embeddings.db\(suffix)")
            guard FileManager.default.fileExists(atPath: source.path) else { continue }
            let target = directory.file("embeddings.db\(suffix)")
            try FileManager.default.copyItem(at: source, to: target)
            copies.append(target)
        }
        func digest() throws -> [String] { try copies.map { SHA256.hash(data: try Data(contentsOf: $0)).description } }
        let before = try digest()
        let path = directory.path("embeddings.db")
        let listing = try FileManager.default.contentsOfDirectory(atPath: directory.url.path).sorted()
        for command in [["sync", "--faq", Fixtures.faq.path, "--snapshot", directory.path("s.snapshot")], ["status"]] {
            let result = try CLIProcess.run(command + ["--json"], environment: ["SQLITE_DB_PATH": path])
            #expect(result.status == 1, "\(command): \(result.stdout)")
            let error = try #require(try result.json()["error"] as? [String: Any])
            #expect(error["code"] as? String == "legacy-store")
            #expect((result.stderr + result.stdout).contains("faqsync import-legacy \(path)"))
        }
        #expect(try digest() == before, "the old store is byte for byte as it was")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path).sorted() == listing,
                "nothing was created beside it (no sync lock, no activity document)")
    }

    @Test func postgresDSNIsReadAsTheOriginalSystemNamedIt() throws {
        let result = try CLIProcess.run(["status", "--json"], environment: ["STORAGE_BACKEND": "postgres", "POSTGRES_DSN": "mysql://nope"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("POSTGRES_DSN"), "\(result.stderr)")
    }
}
