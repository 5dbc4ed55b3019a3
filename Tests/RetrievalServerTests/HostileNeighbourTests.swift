import Foundation
import SnapshotFormat
import SnapshotPublishing
import SnapshotReader
import SyncActivity
import TemplateStore
import Testing
import TestSupport

/// Files beside the snapshot that nobody checked (issue "Hostile neighbours", items 2 and 3):
/// counts and times read from them are range-checked, and nothing computed from them traps.
@Suite("hostile neighbours: counts and times")
struct HostileNeighbourTests {
    /// `new = 2^63 − 1` and `modified = 1` trapped the page's sum on every load.
    @Test func anActivityDocumentWithImpossibleCountsIsRefusedNotAddedUp() throws {
        let directory = try TemporaryDirectory("hostile-counts")
        defer { directory.remove() }
        let now = Date()
        var run = SyncRunRecord(startedAt: now, finishedAt: now, sourcePath: "faq.xlsx", sourceSHA256: nil, outcome: .succeeded)
        run.new = 1
        run.modified = 1
        let activity = SyncActivity(writtenAt: now, currentVersion: nil, lastAttempt: nil, recentSyncs: [run], quarantined: [])
        let file = SyncActivityFile(besideSnapshot: directory.path("faq.snapshot"))
        try file.write(activity)
        #expect(try file.read()?.recentSyncs.first?.new == 1, "a sane document reads back")
        for (field, value) in [("new", "9223372036854775807"), ("embedded_texts", "9223372036854775807"), ("deleted", "-1")] {
            let text = try String(contentsOfFile: file.path, encoding: .utf8)
            let damaged = text.replacingOccurrences(of: #""\#(field)":1"#, with: #""\#(field)":\#(value)"#)
                .replacingOccurrences(of: #""\#(field)":0"#, with: #""\#(field)":\#(value)"#)
            #expect(damaged != text, "the test must change \(field)")
            try damaged.write(toFile: file.path, atomically: true, encoding: .utf8)
            #expect(throws: (any Error).self, "\(field) = \(value)") { try file.read() }
            try file.write(activity)
        }
    }

    /// A creation time of ±2^63 (outside the checksum) trapped `snapshot show --json`.
    @Test func aSnapshotHeaderWithAnImpossibleCreationTimeIsRefused() throws {
        let directory = try TemporaryDirectory("hostile-created")
        defer { directory.remove() }
        let path = directory.path("faq.snapshot")
        for millis in [Int64.max, Int64.min, -1, 253_402_300_800_000] {
            try LocalModelSnapshots.publish(to: path, generation: 1)
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
            try handle.seek(toOffset: 24)
            try handle.write(contentsOf: withUnsafeBytes(of: millis.littleEndian) { Data($0) })
            try handle.close()
            do {
                _ = try MappedSnapshot(path: path)
                Issue.record("a creation time of \(millis) ms was accepted")
            } catch let error as SnapshotError {
                #expect(error.code == .inconsistent)
            }
        }
        // The command line says so instead of trapping.
        let show = try BoundedProcess.run(["snapshot", "show", "--json", "--snapshot", path])
        #expect(show.exitStatus == 1 && show.signal == nil, "\(show)")
    }

    @Test func timestampsOfAnyDateAreWrittenWithoutTrapping() throws {
        let now = Date()
        var run = SyncRunRecord(startedAt: Date(timeIntervalSince1970: 1e300), finishedAt: Date(timeIntervalSince1970: -1e300),
                                sourcePath: "faq.xlsx", sourceSHA256: nil, outcome: .succeeded)
        run.new = 1
        let activity = SyncActivity(writtenAt: now, currentVersion: nil, lastAttempt: nil, recentSyncs: [run], quarantined: [])
        let json = String(decoding: try SyncActivity.encoder().encode(activity), as: UTF8.self)
        // Clamped to the years 1 and 9999 (Foundation names the first day of year 1 by the Julian calendar).
        #expect(json.contains("\"started_at\":\"9999-12-31T23:59:59.999Z\"") && json.contains("\"finished_at\":\"0001-01-0"), "\(json.prefix(300))")
    }
}
