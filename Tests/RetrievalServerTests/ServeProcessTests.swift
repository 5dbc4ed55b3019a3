import Foundation
import Synchronization
import Testing
import TestSupport

/// `faqsync serve` as its own process, the way a retrieval host runs it.
@Suite("faqsync serve as a process", .serialized)
struct ServeProcessTests {
    /// Reads the "listening on http://HOST:PORT" line the server prints when it is ready (any IPv4
    /// host: 127.0.0.1 by default, 0.0.0.0 in the SERVE_TOKEN tests).
    static func waitForPort(_ output: Pipe) throws -> Int {
        var collected = ""
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            collected += String(decoding: data, as: UTF8.self)
            if let range = collected.range(of: #"http://[0-9.]+:(\d+)"#, options: .regularExpression) {
                return Int(collected[range].split(separator: ":").last!)!
            }
        }
        throw ServeFailure(output: collected)
    }

    struct ServeFailure: Error { let output: String }

    /// `faqsync serve --port 0` over the local model's snapshot at `path`, and the port it bound.
    static func startServe(snapshot path: String, openFileLimit: Int? = nil) throws -> (process: Process, port: Int, stderr: Pipe) {
        let (process, stdout, stderr) = try CLIProcess.start(["serve", "--port", "0", "--snapshot", path],
                                                             environment: ["EMBEDDING_DIMENSIONS": "64", "LOG_LEVEL": "error"],
                                                             openFileLimit: openFileLimit)
        do { return (process, try waitForPort(stdout), stderr) } catch {
            process.terminate()
            throw error
        }
    }

    /// A port another process holds: the error names the address and the flags to change, not
    /// NIO's `bind(descriptor:ptr:bytes:)` (issue "What a new user … trips over").
    @Test func aBusyPortIsNamedWithTheFlagsThatChooseIt() throws {
        let directory = try TemporaryDirectory("serve-busy")
        defer { directory.remove() }
        let path = directory.path("faqsync.snapshot")
        try LocalModelSnapshots.publish(to: path, generation: 1)
        let (first, port, _) = try Self.startServe(snapshot: path)
        defer { first.terminate(); first.waitUntilExit() }
        let second = try BoundedProcess.run(["serve", "--port", "\(port)", "--snapshot", path], environment: ["EMBEDDING_DIMENSIONS": "64"])
        #expect(second.exitStatus == 1, "\(second)")
        #expect(second.stderr.contains("error [address-in-use]: cannot listen on 127.0.0.1:\(port): Address already in use"), "\(second.stderr)")
        #expect(second.stderr.contains("--host and --port"), "\(second.stderr)")
        #expect(!second.stderr.contains("bind(descriptor"), "\(second.stderr)")
    }

    /// Queries from several tasks against a second process while 200 generations of different
    /// sizes are published: every answer comes from one generation, generations never go back.
    @Test func aSecondProcessSwitchesLiveWithoutErrorsOrMixedResults() async throws {
        let directory = try TemporaryDirectory("serve-live")
        defer { directory.remove() }
        let path = directory.path("faqsync.snapshot")
        try LocalModelSnapshots.publish(to: path, generation: 1)
        let (process, port, _) = try ServeProcessTests.startServe(snapshot: path)
        defer { process.terminate(); process.waitUntilExit() }
        let url = "http://127.0.0.1:\(port)/v1/search"

        let shared = SharedProgress()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for reader in 0..<3 {
                group.addTask { [shared] in
                    var last = 0
                    while !shared.stop.load(ordering: .relaxed) {
                        do {
                            let response = try await HTTP.request(.POST, url, body: #"{"query":"Вопрос про вклад","k":5}"#)
                            guard response.status == 200 else {
                                shared.problems.withLock { $0.append("reader \(reader): HTTP \(response.status) \(response.body)") }
                                continue
                            }
                            let json = try response.json()
                            let generation = json["generation"] as? Int ?? -1
                            let answers = (json["results"] as? [[String: Any]] ?? []).compactMap { $0["answer"] as? String }
                            if generation < last { shared.problems.withLock { $0.append("reader \(reader): \(last) → \(generation)") } }
                            if answers.contains(where: { $0 != "generation \(generation)" }) {
                                shared.problems.withLock { $0.append("reader \(reader): generation \(generation) mixed \(answers)") }
                            }
                            if response.headers["x-snapshot-generation"] != "\(generation)" {
                                shared.problems.withLock { $0.append("reader \(reader): header \(response.headers["x-snapshot-generation"] ?? "-") ≠ body \(generation)") }
                            }
                            last = generation
                            shared.answered.add(1, ordering: .relaxed)
                        } catch {
                            shared.problems.withLock { $0.append("reader \(reader): \(error)") }
                        }
                    }
                }
            }
            for generation in UInt64(2)...201 {
                try LocalModelSnapshots.publish(to: path, generation: generation, count: 5 + Int(generation % 9) * 20)
                try await Task.sleep(for: .milliseconds(10))
            }
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                let health = try await HTTP.request(.GET, "http://127.0.0.1:\(port)/healthz")
                if try health.json()["generation"] as? Int == 201 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            shared.stop.store(true, ordering: .relaxed)
            try await group.waitForAll()
        }
        #expect(shared.problems.withLock { $0 }.isEmpty, "\(shared.problems.withLock { Array($0.prefix(5)) })")
        #expect(shared.answered.load(ordering: .relaxed) > 100)
        let health = try await HTTP.request(.GET, "http://127.0.0.1:\(port)/healthz")
        #expect(try health.json()["generation"] as? Int == 201)
        let metrics = try await HTTP.request(.GET, "http://127.0.0.1:\(port)/metrics")
        #expect(metrics.body.contains("faqsync_snapshot_failed_reloads_total 0"))
    }

    /// systemd socket activation, through systemd's own tool: the socket is bound before the
    /// process exists, and the first connection is what starts it.
    /// A listening socket on 127.0.0.1, port 0: the kernel picks the port, nothing is probed.
    static func listeningSocket() throws -> (descriptor: Int32, port: Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw RawConnection.Failure(call: "socket", code: errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 16) == 0 else { throw RawConnection.Failure(call: "bind/listen", code: errno) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { throw RawConnection.Failure(call: "getsockname", code: errno) }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// Socket activation as systemd does it: the listener exists before faqsync does and is handed
    /// over as descriptor 3 with LISTEN_FDS=1 and LISTEN_PID set to the server's own pid (the shell
    /// moves the socket from its stdin to 3 and `exec`s faqsync, so `$$` is faqsync's pid).
    @Test func socketActivation() async throws {
        let directory = try TemporaryDirectory("serve-activated")
        defer { directory.remove() }
        let path = directory.path("faqsync.snapshot")
        try LocalModelSnapshots.publish(to: path, generation: 4)
        let (listener, port) = try Self.listeningSocket()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", #"exec 3<&0 0</dev/null; LISTEN_FDS=1 LISTEN_PID=$$ exec "$0" serve --snapshot "$1""#,
                             CLIProcess.binary.path, path]
        process.environment = CLIProcess.environment(["EMBEDDING_PROVIDER": "local", "EMBEDDING_DIMENSIONS": "64", "LOG_LEVEL": "error"])
        process.standardInput = FileHandle(fileDescriptor: listener, closeOnDealloc: true)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate(); process.waitUntilExit() } }

        // This request waits in the listener's queue until faqsync accepts it, and is served.
        let response = try await HTTP.request(.GET, "http://127.0.0.1:\(port)/healthz")
        #expect(response.status == 200)
        #expect(try response.json()["generation"] as? Int == 4)
        let search = try await HTTP.request(.POST, "http://127.0.0.1:\(port)/v1/search", body: #"{"query":"кредит","k":2}"#)
        #expect(search.status == 200)

        // SIGTERM with a keep-alive connection still open: the server quiesces it and exits.
        let stopped = ContinuousClock.now
        process.terminate()
        process.waitUntilExit()
        #expect(ContinuousClock.now - stopped < .seconds(5))
        #expect(process.terminationStatus == 0)
    }

    /// A retrieval host of its own: `serve --store postgres` builds its snapshot from the database
    /// and follows every committed change, with no snapshot file copied from the writer.
    @Test func servingFromPostgresFollowsTheWritersCommits() async throws {
        let directory = try TemporaryDirectory("serve-postgres")
        defer { directory.remove() }
        let database = try TestDatabase("serve")
        var faq = GeneratedFAQ(count: 120)
        let faqPath = directory.path("faq.xlsx")
        try faq.writeXLSX(to: URL(fileURLWithPath: faqPath))
        let writer = ["STORAGE_BACKEND": "postgres", "DATABASE_URL": database.url, "FAQ_PATH": faqPath,
                      "SNAPSHOT_PATH": directory.path("writer.snapshot"), "EMBEDDING_DIMENSIONS": "64"]
        #expect(try CLIProcess.run(["sync"], environment: writer, directory: directory.url).status == 0)

        let (process, stdout, _) = try CLIProcess.start(
            ["serve", "--store", "postgres", "--port", "0", "--snapshot", directory.path("reader.snapshot")],
            environment: ["DATABASE_URL": database.url, "EMBEDDING_DIMENSIONS": "64", "LOG_LEVEL": "error"], directory: directory.url)
        defer { if process.isRunning { process.terminate(); process.waitUntilExit() } }
        let port = try Self.waitForPort(stdout)

        func health(templates: Int) async throws -> [String: Any]? {
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                if let json = try? await HTTP.request(.GET, "http://127.0.0.1:\(port)/healthz").json(), json["templates"] as? Int == templates {
                    return json
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            return nil
        }
        let first = try #require(try await health(templates: 120), "the reader loaded the database's current version")
        faq.entries.removeLast(20)
        try faq.writeXLSX(to: URL(fileURLWithPath: faqPath))
        #expect(try CLIProcess.run(["sync"], environment: writer, directory: directory.url).status == 0)
        let second = try #require(try await health(templates: 100), "the reader followed the commit")
        #expect((second["generation"] as? Int ?? 0) > (first["generation"] as? Int ?? .max))
        let search = try await HTTP.request(.POST, "http://127.0.0.1:\(port)/v1/search", body: #"{"query":"вклад","k":3}"#)
        #expect(search.status == 200)
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }
}

/// Shared between the reader tasks and the test: a stop flag, problems seen, answers counted.
final class SharedProgress: Sendable {
    let stop = Atomic<Bool>(false)
    let problems = Mutex<[String]>([])
    let answered = Atomic<Int>(0)
}
