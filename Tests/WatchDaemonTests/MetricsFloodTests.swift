import Foundation
import Testing
import TestSupport

/// Issue "Hostile neighbours", item 5, for the daemon: `watch` with `METRICS_ADDRESS` runs the same
/// HTTP server as serve. 2,000 half-sent requests on it used to exhaust its 1,024 descriptors, and
/// syncs failed with "Too many open files". Now a save still syncs, and /metrics still answers.
@Suite("hostile neighbours: the daemon's metrics port", .serialized)
struct MetricsFloodTests {
    @Test func aSaveIsSyncedWhileTwoThousandIdleConnectionsHoldTheMetricsPort() async throws {
        let available = RawConnection.raiseOpenFileLimit(to: 2_200)
        try #require(available >= 2_100, "this test needs 2,100 descriptors; the hard limit allows \(available)")
        let harness = try await DaemonHarness("metrics-flood", environment: ["METRICS_ADDRESS": "127.0.0.1:0"], openFileLimit: 1_024)
        let port = try #require(await Self.metricsPort(harness), "the daemon logs where /metrics listens: \(harness.log.suffix(2_000))")

        var flood: [RawConnection] = []
        for _ in 0..<2_000 {
            let connection = try RawConnection(port: port)
            try connection.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            flood.append(connection)
        }
        // A save syncs: the store reads the file, writes, publishes; all need descriptors.
        let incoming = harness.faqDirectory.appendingPathComponent(".incoming.xlsx")
        try Data(contentsOf: Fixtures.faq).write(to: incoming)
        #expect(rename(incoming.path, harness.faq.path) == 0)
        #expect(try await harness.waitForSyncs(2), "\(harness.log.suffix(2_000))")
        #expect(try harness.storedState() == DaemonHarness.expectedState(Fixtures.faq))
        #expect(!harness.log.contains("Too many open files"), "\(harness.log.suffix(2_000))")
        let metrics = try RawConnection(port: port, timeout: 5)
        try metrics.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        #expect(try metrics.readToEnd().hasPrefix("HTTP/1.1 200"))
        withExtendedLifetime(flood) {}
        #expect(harness.stop() == 0)
    }

    /// The port from the server's "listening" log line (METRICS_ADDRESS=127.0.0.1:0 picks one).
    static func metricsPort(_ harness: DaemonHarness) async -> Int? {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let range = harness.log.range(of: #"address=127\.0\.0\.1:(\d+)"#, options: .regularExpression),
               let port = Int(harness.log[range].split(separator: ":").last ?? "") {
                return port
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }
}
