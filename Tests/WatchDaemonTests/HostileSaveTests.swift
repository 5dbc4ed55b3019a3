import Foundation
import Testing
import TestSupport

/// The hostile-input issue under `watch`: each crafted file saved over the spreadsheet leaves the
/// daemon running, says DEGRADED with the reason in STATUS=, keeps the last good snapshot, and
/// the next good save syncs. Run with the shipped env file's empty `METRICS_ADDRESS=`.
@Suite("the daemon and hostile saves", .serialized)
struct HostileSaveTests {
    @Test func everyHostileFileIsADegradedStatusAndTheNextGoodSaveSyncs() async throws {
        let harness = try await DaemonHarness("hostile-saves", environment: ["METRICS_ADDRESS": ""])
        let goodFiles = [Fixtures.faq, Fixtures.sampleFAQ]
        var syncs = 1
        for (round, hostile) in HostileSpreadsheet.all.filter({ $0.fileExtension == "xlsx" }).enumerated() {
            let generation = try #require(harness.snapshotGeneration)
            let seen = harness.notify.messages.count
            let incoming = harness.faqDirectory.appendingPathComponent(".incoming.xlsx")
            try hostile.write(to: incoming)
            #expect(rename(incoming.path, harness.faq.path) == 0)
            syncs += 1
            #expect(try await harness.waitForSyncs(syncs, timeout: .seconds(30)), "\(hostile.name): \(harness.log)")
            let status = harness.notify.messages.dropFirst(seen).map(\.message).last { $0.contains("STATUS=") } ?? ""
            #expect(status.contains("DEGRADED") && status.contains(hostile.expectedMessage), "\(hostile.name): \(status)")
            #expect(harness.process.isRunning, "\(hostile.name): the daemon stays up")
            #expect(harness.snapshotGeneration == generation, "\(hostile.name): the last good snapshot keeps serving")

            let good = goodFiles[round % 2]
            try Data(contentsOf: good).write(to: incoming)
            #expect(rename(incoming.path, harness.faq.path) == 0)
            syncs += 1
            #expect(try await harness.waitForSyncs(syncs), "\(hostile.name): the next good save syncs")
            #expect(try harness.storedState() == DaemonHarness.expectedState(good))
            #expect(!(harness.notify.lines(containing: "STATUS=").last ?? "").contains("DEGRADED"))
        }
        #expect(harness.stop() == 0)
    }
}
