import Foundation
import Testing
import TestSupport

@Suite("the daemon's behaviour", .serialized)
struct DaemonBehaviourTests {
    /// The new file written in place in 10 chunks over 2 s: no error, one sync of the final content.
    @Test func aSlowWriterIsWaitedFor() async throws {
        let harness = try await DaemonHarness("slow-writer", debounceMs: 500)
        try await writeInPlace(try Data(contentsOf: Fixtures.faq), to: harness.faq, chunks: 10, pause: .milliseconds(200))
        #expect(try await harness.waitForSyncs(2))
        #expect(try await harness.settled())
        let log = harness.log
        #expect(harness.syncsStarted == 2, "\(log)")
        #expect(try harness.failedRuns() == 0, "no error reported: \(log)")
        #expect(try harness.storedState() == DaemonHarness.expectedState(Fixtures.faq))
        #expect(harness.stop() == 0)
    }

    /// Left truncated for good: one clear error, the old snapshot still served, and the next good
    /// save syncs.
    @Test func aTruncatedFileIsOneErrorAndTheNextGoodSaveSyncs() async throws {
        let harness = try await DaemonHarness("truncated", debounceMs: 500)
        let generation = try #require(harness.snapshotGeneration)
        let good = try Data(contentsOf: Fixtures.faq)
        try await writeInPlace(good.prefix(good.count / 2), to: harness.faq)
        #expect(try await harness.waitForSyncs(2, timeout: .seconds(30)), "the cut-off file is read once the wait runs out")
        #expect(try await harness.settled(), "the same cut-off bytes are not read again")
        #expect(harness.syncsStarted == 2)
        #expect(try harness.failedRuns() == 1, "one clear error")
        #expect(harness.notify.lines(containing: "DEGRADED").contains { $0.contains("truncated") || $0.contains("half-saved") })
        #expect(harness.snapshotGeneration == generation, "the old snapshot is still served")
        #expect(try harness.storedState() == DaemonHarness.expectedState(Fixtures.sampleFAQ))

        try await writeInPlace(good, to: harness.faq)
        #expect(try await harness.waitForSyncs(3))
        let stored = try harness.storedState(), expected = try DaemonHarness.expectedState(Fixtures.faq)
        #expect(stored == expected, "stored-only \(stored.subtracting(expected).sorted().prefix(3)), expected-only \(expected.subtracting(stored).sorted().prefix(3)) of \(stored.count)/\(expected.count)")
        #expect(harness.stop() == 0)
    }

    @Test func theFileDeletedThenRestoredIsAWarningThenASync() async throws {
        let harness = try await DaemonHarness("deleted")
        let saved = try Data(contentsOf: harness.faq)
        try FileManager.default.removeItem(at: harness.faq)
        #expect(try await harness.notify.waitFor({ $0.contains { $0.contains("DEGRADED") && $0.contains("missing") } }, timeout: .seconds(10)))
        #expect(harness.syncsStarted == 1, "a missing file is not synced")
        #expect(harness.process.isRunning, "a warning, not a crash")
        try Data(contentsOf: Fixtures.faq).write(to: harness.faq)
        #expect(try await harness.waitForSyncs(2))
        #expect(try harness.storedState() == DaemonHarness.expectedState(Fixtures.faq))
        _ = saved
        #expect(harness.stop() == 0)
    }

    /// READY=1 after the first snapshot, STATUS lines, RELOADING=1 (with MONOTONIC_USEC) and
    /// READY=1 around each sync, WATCHDOG=1 at half of WATCHDOG_USEC, STOPPING=1 on SIGTERM.
    @Test func theNotificationSequence() async throws {
        let harness = try await DaemonHarness("notify", environment: ["WATCHDOG_USEC": "400000"])
        let messages = harness.notify.messages.map(\.message)
        let firstReady = try #require(messages.firstIndex { $0.hasPrefix("READY=1") })
        #expect(FileManager.default.fileExists(atPath: harness.snapshot), "READY=1 comes after the first snapshot")
        #expect(messages[..<firstReady].contains { $0.hasPrefix("STATUS=Starting") })
        #expect(messages[firstReady].contains("STATUS=30 templates, faqsync-local-hash 2 (1024 dimensions), snapshot generation 1"))

        try await writeInPlace(try Data(contentsOf: Fixtures.faq), to: harness.faq)
        #expect(try await harness.waitForSyncs(2))
        let reload = try #require(harness.notify.messages.last { $0.message.hasPrefix("RELOADING=1") })
        #expect(reload.message.contains("MONOTONIC_USEC="))
        #expect(harness.notify.lines(containing: "READY=1").last?.contains("201 templates") == true)

        // Watchdog: every 200 ms (half of 400 ms). Ten more pings come, and not faster than that.
        let before = harness.notify.messages.filter { $0.message.hasPrefix("WATCHDOG=1") }.count
        #expect(try await harness.notify.waitFor({ $0.filter { $0.hasPrefix("WATCHDOG=1") }.count >= before + 10 }, timeout: .seconds(10)))
        let pings = harness.notify.messages.filter { $0.message.hasPrefix("WATCHDOG=1") }.dropFirst(max(before - 1, 0)).prefix(11).map(\.at)
        let span = try #require(pings.last) - (try #require(pings.first))
        #expect(span >= .milliseconds(1_600), "10 intervals of 200 ms took \(span)")

        #expect(harness.stop() == 0)
        #expect(try await harness.notify.waitFor({ $0.contains { $0.hasPrefix("STOPPING=1") } }, timeout: .seconds(5)))
        #expect(harness.notify.messages.last?.message.hasPrefix("STOPPING=1") == true)
    }

    @Test func sighupSyncsAgain() async throws {
        let harness = try await DaemonHarness("sighup")
        kill(harness.process.processIdentifier, SIGHUP)
        #expect(try await harness.waitForSyncs(2))
        #expect(harness.stop() == 0)
    }

    /// SIGTERM in the middle of a large sync: the process exits quickly, the store passes status.
    @Test func sigtermDuringALargeSync() async throws {
        let harness = try await DaemonHarness("sigterm")
        let big = harness.directory.file("big.xlsx")
        try GeneratedFAQ(count: 20_000).writeXLSX(to: big)
        try await writeInPlace(try Data(contentsOf: big), to: harness.faq)
        // SIGTERM as soon as the sync of 20,000 templates has begun: it is in the middle of it.
        #expect(try await harness.notify.waitFor({ $0.filter { $0.hasPrefix("RELOADING=1") }.count >= 2 }, timeout: .seconds(20)))
        let stopped = ContinuousClock.now
        harness.process.terminate()
        harness.process.waitUntilExit()
        #expect(ContinuousClock.now - stopped < .seconds(10), "exits within the stop timeout")
        #expect(harness.process.terminationStatus == 0)
        // The store is whole (the cancelled sync rolled back), and the snapshot shows it.
        let status = try CLIProcess.run(["status", "--db", harness.db, "--snapshot", harness.snapshot, "--json"])
        #expect((try status.json()["integrity"] as? [String: Any])?["passed"] as? Bool == true, "\(status.stdout)")
        #expect(status.status == 0 || status.status == 3, "a sync cancelled by the stop may be recorded as failed: \(status.stdout)")
        let state = try harness.storedState()
        let old = try DaemonHarness.expectedState(Fixtures.sampleFAQ), new = try DaemonHarness.expectedState(big)
        #expect(state == old || state == new, "the store holds the old state or the new one, never a mix")
    }

    /// The model API down for 3 s: the sync retries and succeeds, as one sync.
    @Test func anAPIOutageIsRetriedWithinOneSync() async throws {
        let server = try await FakeEmbeddingServer(dimension: 64)
        let environment = ["EMBEDDING_PROVIDER": "openai", "EMBEDDING_BASE_URL": server.openAIBaseURL, "EMBEDDING_MODEL": "bge-m3",
                           "EMBEDDING_DIMENSIONS": "64", "EMBEDDING_MAX_ATTEMPTS": "10", "EMBEDDING_RETRY_MAX_S": "30"]
        let harness = try await DaemonHarness("outage", environment: environment)
        var behaviour = FakeEmbeddingServer.Behaviour()
        behaviour.unavailableUntil = .now + .seconds(3)
        server.setBehaviour(behaviour)
        server.resetCounts()
        try await writeInPlace(try Data(contentsOf: Fixtures.faq), to: harness.faq)
        #expect(try await harness.waitForSyncs(2, timeout: .seconds(40)))
        #expect(try await harness.settled())
        #expect(harness.syncsStarted == 2, "one sync, retried inside")
        #expect(try harness.failedRuns() == 0)
        #expect(server.requests > 7, "the first requests met the outage and were retried")
        #expect(try harness.storedState() == DaemonHarness.expectedState(Fixtures.faq))
        #expect(harness.stop() == 0)
        await server.stop()
    }
}

@Suite("unit files")
struct UnitFileTests {
    static var analyzer: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") }

    @Test(.enabled(if: analyzer, "needs systemd-analyze"), arguments: ["faqsync.service", "faqsync-serve.service"])
    func securityExposureIsOK(unit: String) throws {
        let path = Fixtures.projectRoot.appendingPathComponent("systemd/\(unit)").path
        let result = try CLIProcess.runTool("/usr/bin/systemd-analyze", ["security", "--offline=true", "--no-pager", path])
        let line = try #require(result.stdout.split(separator: "\n").first { $0.contains("Overall exposure level") })
        let score = try #require(Double(line.split(separator: ":").last!.split(separator: " ").first!))
        print("\(unit): \(line.trimmingCharacters(in: .whitespaces))")
        #expect(score <= 2.0, "\(line)")
    }
}

@Suite("the daemon's metrics")
struct DaemonMetricsTests {
    @Test func metricsAddressServesSyncCountsAndWatchdogPings() async throws {
        // Port 0: the daemon binds a free port and logs it (a port picked here could be taken first).
        let harness = try await DaemonHarness("metrics", environment: ["METRICS_ADDRESS": "127.0.0.1:0", "WATCHDOG_USEC": "400000"])
        let port = try #require(await MetricsFloodTests.metricsPort(harness), "\(harness.log.suffix(2_000))")
        try await writeInPlace(try Data(contentsOf: Fixtures.faq), to: harness.faq)
        #expect(try await harness.waitForSyncs(2))
        let scrape = try CLIProcess.runTool("/usr/bin/env", ["python3", "-c",
            "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:\(port)/metrics').read().decode())"])
        #expect(scrape.status == 0, "\(scrape.stderr)")
        #expect(scrape.stdout.contains(#"faqsync_syncs_total{outcome="succeeded"} 2"#))
        #expect(scrape.stdout.contains("faqsync_texts_embedded_total 230"), "30 at start-up, 200 after the save")
        #expect(scrape.stdout.contains("faqsync_snapshot_generation 2"))
        #expect(scrape.stdout.contains("faqsync_watchdog_pings_total"))
        #expect(scrape.stdout.contains("faqsync_last_successful_sync_timestamp_seconds"))
        #expect(harness.stop() == 0)
    }
}
