import Foundation
import Testing
import TestSupport

/// Issue "Hostile neighbours", item 5: 2,000 half-sent requests against a server held to the
/// 1,024 descriptors a service gets by default. Before, none was ever closed, `/healthz` stopped
/// answering and the process spun on `accept`.
@Suite("hostile neighbours: idle connections", .serialized)
struct ConnectionFloodTests {
    static let floodSize = 2_000
    /// The open-file limit systemd gives a service that sets no `LimitNOFILE=`.
    static let serverFileLimit = 1_024

    /// Opens `count` connections that each send half a request and then nothing.
    package static func flood(port: Int, count: Int) throws -> [RawConnection] {
        var connections: [RawConnection] = []
        connections.reserveCapacity(count)
        for _ in 0..<count {
            let connection = try RawConnection(port: port)
            try connection.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            connections.append(connection)
        }
        return connections
    }

    /// One whole request on a new connection; the time until the response has been read.
    static func probe(port: Int, path: String) throws -> (response: String, milliseconds: Double) {
        let started = ContinuousClock.now
        let connection = try RawConnection(port: port, timeout: 5)
        try connection.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        let response = try connection.readToEnd()
        let elapsed = ContinuousClock.now - started
        return (response, Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1e3)
    }

    static func waitUntil(_ timeout: Duration, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return try condition()
    }

    @Test func healthChecksAreAnsweredThroughTwoThousandIdleConnectionsAndTheIdleOnesAreClosed() async throws {
        let available = RawConnection.raiseOpenFileLimit(to: Self.floodSize + 200)
        try #require(available >= Self.floodSize + 100, "this test needs \(Self.floodSize + 100) descriptors; the hard limit allows \(available)")
        let directory = try TemporaryDirectory("flood-serve")
        defer { directory.remove() }
        let path = directory.path("faqsync.snapshot")
        try LocalModelSnapshots.publish(to: path, generation: 1)
        let (process, port, _) = try ServeProcessTests.startServe(snapshot: path, openFileLimit: Self.serverFileLimit)
        defer { process.terminate(); process.waitUntilExit() }

        let flood = try Self.flood(port: port, count: Self.floodSize)
        var probes: [Double] = []
        for _ in 0..<10 {
            let (response, milliseconds) = try Self.probe(port: port, path: "/healthz")
            #expect(response.hasPrefix("HTTP/1.1 200"), "\(response.prefix(200))")
            probes.append(milliseconds)
        }
        probes.sort()
        let median = probes[probes.count / 2]
        #expect(median < 100, "/healthz took \(probes) ms with \(Self.floodSize) idle connections")
        #expect(process.isRunning)

        // Every half-sent request is closed once its 10 s are up (those evicted to make room, at once).
        let allClosed = Self.waitUntil(.seconds(30)) { flood.allSatisfy(\.isClosedByPeer) }
        let stillOpen = flood.filter { !$0.isClosedByPeer }.count
        #expect(allClosed, "\(stillOpen) of \(Self.floodSize) half-sent requests still open after 30 s")
        // And the server is whole afterwards.
        #expect(try Self.probe(port: port, path: "/healthz").response.hasPrefix("HTTP/1.1 200"))
        print("flood: \(Self.floodSize) half-sent requests against a 1,024-descriptor serve; /healthz p50 \(String(format: "%.1f", median)) ms, max \(String(format: "%.1f", probes.last ?? 0)) ms (N=10); \(Self.floodSize - stillOpen) closed")
    }

    /// A request sent a byte at a time, each byte inside any idle timeout, is closed all the same.
    @Test func aRequestDribbledAByteAtATimeIsClosedWhenItsTimeIsUp() async throws {
        let directory = try TemporaryDirectory("flood-dribble")
        defer { directory.remove() }
        let path = directory.path("faqsync.snapshot")
        try LocalModelSnapshots.publish(to: path, generation: 1)
        let (process, port, _) = try ServeProcessTests.startServe(snapshot: path)
        defer { process.terminate(); process.waitUntilExit() }
        let connection = try RawConnection(port: port)
        let started = ContinuousClock.now
        var closed = false
        for byte in "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: \(String(repeating: "a", count: 200))".utf8 {
            if connection.isClosedByPeer { closed = true; break }
            do { try connection.send(String(decoding: [byte], as: UTF8.self)) } catch { closed = true; break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let elapsed = ContinuousClock.now - started
        #expect(closed, "a request dribbled over \(elapsed) was never closed")
        #expect(elapsed < .seconds(20), "closed after \(elapsed)")
    }
}
