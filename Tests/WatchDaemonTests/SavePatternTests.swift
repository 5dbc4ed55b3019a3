import Foundation
import Testing
import TestSupport

/// Every way editors and tools save the spreadsheet, done for real on real files: each burst is
/// exactly one sync, and the store and snapshot end up equal to the final file. Lock and temp
/// files cause none.
@Suite("save patterns", .serialized)
struct SavePatternTests {
    enum Pattern: String, CaseIterable {
        case writeInPlace, libreOfficeTempAndRename, excelRenameAwayAndIn, cpOver, gitCheckout, directoryReplaced
    }

    /// The new content: the real FAQ (201 templates) replacing the sample (30).
    static let newContent = Fixtures.faq

    func save(_ pattern: Pattern, in harness: DaemonHarness) async throws {
        let directory = harness.faqDirectory, faq = harness.faq
        let data = try Data(contentsOf: Self.newContent)
        let fm = FileManager.default
        switch pattern {
        case .writeInPlace:
            try await writeInPlace(data, to: faq, chunks: 3)
        case .libreOfficeTempAndRename:
            // LibreOffice: a lock file, the file opened (and a CLOSE_WRITE with nothing written),
            // a lu<pid>.tmp written and renamed over the file.
            try Data("lock".utf8).write(to: directory.appendingPathComponent(".~lock.faq.xlsx#"))
            let handle = try FileHandle(forUpdating: faq)
            try handle.close()
            let temp = directory.appendingPathComponent("lu4711abc.tmp")
            try data.write(to: temp)
            _ = rename(temp.path, faq.path)
            try fm.removeItem(at: directory.appendingPathComponent(".~lock.faq.xlsx#"))
        case .excelRenameAwayAndIn:
            // Excel: ~$ lock file, temp file written, original renamed away (missing for a moment),
            // temp renamed in, the renamed original deleted.
            try Data("lock".utf8).write(to: directory.appendingPathComponent("~$faq.xlsx"))
            let temp = directory.appendingPathComponent("5A3F0C21")
            try data.write(to: temp)
            let backup = directory.appendingPathComponent("A1B2C3D4.tmp")
            _ = rename(faq.path, backup.path)
            try await Task.sleep(for: .milliseconds(5))
            _ = rename(temp.path, faq.path)
            try fm.removeItem(at: backup)
            try fm.removeItem(at: directory.appendingPathComponent("~$faq.xlsx"))
        case .cpOver:
            let result = try CLIProcess.runTool("/bin/cp", [Self.newContent.path, faq.path])
            #expect(result.status == 0)
        case .gitCheckout:
            try fm.removeItem(at: faq)
            try data.write(to: faq)
        case .directoryReplaced:
            // A deploy that swaps the whole directory: moved away, a new one put in its place.
            let old = harness.directory.file("faq.old")
            try fm.moveItem(at: directory, to: old)
            try await Task.sleep(for: .milliseconds(300))
            let staging = harness.directory.file("faq.new")
            try fm.createDirectory(at: staging, withIntermediateDirectories: true)
            try data.write(to: staging.appendingPathComponent("faq.xlsx"))
            try fm.moveItem(at: staging, to: directory)
        }
    }

    @Test(arguments: Pattern.allCases)
    func oneSyncPerSaveAndTheStoreEqualsTheFinalFile(pattern: Pattern) async throws {
        let harness = try await DaemonHarness("save-\(pattern.rawValue)")
        #expect(harness.syncsStarted == 1, "the start-up sync")
        let generationBefore = try #require(harness.snapshotGeneration)

        try await save(pattern, in: harness)
        #expect(try await harness.waitForSyncs(2), "a sync after the save; log: \(harness.log)")
        // Every straggling event handled before counting.
        #expect(try await harness.settled())
        #expect(harness.syncsStarted == 2, "exactly one sync for the burst")
        #expect(try harness.storedState() == DaemonHarness.expectedState(Self.newContent))
        #expect((harness.snapshotGeneration ?? 0) > generationBefore)
        #expect(try harness.failedRuns() == 0)
        #expect(harness.stop() == 0)
    }

    @Test func lockAndTempFilesCauseNoSync() async throws {
        let harness = try await DaemonHarness("save-locks")
        let directory = harness.faqDirectory
        for name in [".~lock.faq.xlsx#", "~$faq.xlsx", ".faq.xlsx.swp", "lu999.tmp", "faq.xlsx~", "other.xlsx"] {
            try Data("x".utf8).write(to: directory.appendingPathComponent(name))
            try FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
        // The daemon's own reads and a reader opening the file are not saves either.
        _ = try Data(contentsOf: harness.faq)
        #expect(try await harness.settled())
        #expect(harness.syncsStarted == 1)
        #expect(harness.stop() == 0)
    }

    @Test func aSaveWithTheSameContentCausesNoSync() async throws {
        let harness = try await DaemonHarness("save-same")
        let before = harness.stderr.lines.count
        try await writeInPlace(try Data(contentsOf: Fixtures.sampleFAQ), to: harness.faq)
        let line = try await harness.stderr.waitForLine(after: before, where: { $0.contains("content unchanged") })
        #expect(line != nil, "the save was looked at: \(harness.log)")
        #expect(harness.syncsStarted == 1, "same SHA-256 as the last sync: nothing to do")
        #expect(harness.stop() == 0)
    }
}
