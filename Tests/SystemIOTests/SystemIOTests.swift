import Foundation
import Logging
import Synchronization
import SystemIO
import Testing

/// Issue "One I/O layer", part 1: the hazards of system calls whose results were dropped.
@Suite("the I/O layer")
struct SystemIOTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Each job's outcome comes back in its own place, and a job that fails does not stop the other.
    @Test func bothJobsRunAndEachOutcomeComesBackInItsPlace() throws {
        struct Refused: Error, Equatable {}
        let otherRan = Atomic<Bool>(false)
        let (first, second) = bothAtOnce({ () throws -> Int in throw Refused() },
                                         { () -> String in otherRan.store(true, ordering: .relaxed); return "written" })
        #expect(throws: Refused()) { try first.get() }
        #expect(try second.get() == "written")
        let ran = otherRan.load(ordering: .relaxed)
        #expect(ran)
        let (sum, text) = bothAtOnce({ (1...100).reduce(0, +) }, { String(repeating: "a", count: 3) })
        #expect(try sum.get() == 5050 && text.get() == "aaa")
    }

    /// Before, a failed `pipe` left the descriptors at 0: the watcher polled standard input and
    /// closed it when it stopped.
    @Test func aWatcherWhosePipeFailsThrowsAndLeavesStandardInputAlone() throws {
        var calls = DirectoryWatcher.Calls()
        calls.pipe = { _ in errno = EMFILE; return -1 }
        #expect(throws: SystemCallError(call: "pipe", errno: EMFILE, subject: "the wake pipe")) {
            try DirectoryWatcher(directory: "/tmp", fileMask: UInt32(IN_CREATE), threadName: "test", logger: Self.quiet, calls: calls) { _ in }
        }
        #expect(fcntl(0, F_GETFD) != -1, "fd 0 is still open")
    }

    /// Before, a `poll` error other than EINTR looped at once, forever.
    @Test func aFailingPollIsRetriedAfterAPauseNotSpunOn() async throws {
        let counter = PollCounter()
        var calls = DirectoryWatcher.Calls()
        calls.poll = { _, _, _ in counter.count.add(1, ordering: .relaxed); errno = EBADF; return -1 }
        let watcher = try DirectoryWatcher(directory: "/tmp", fileMask: UInt32(IN_CREATE), threadName: "test", logger: Self.quiet, calls: calls) { _ in }
        defer { watcher.stop() }
        // The third poll comes after two pauses of a second each (a spinning loop makes millions at once).
        let deadline = ContinuousClock.now + .seconds(10)
        while counter.count.load(ordering: .relaxed) < 1, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
        let first = ContinuousClock.now
        while counter.count.load(ordering: .relaxed) < 3, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
        let elapsed = ContinuousClock.now - first
        #expect(counter.count.load(ordering: .relaxed) >= 3, "the watcher keeps polling after errors")
        #expect(elapsed >= .milliseconds(1_900), "two more polls came \(elapsed) after the first")
    }

    @Test func aWatcherReportsFilesByNameAndStopsPromptly() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("systemio-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (events, sink) = AsyncStream.makeStream(of: DirectoryWatcher.Event.self)
        let watcher = try DirectoryWatcher(directory: directory, fileMask: UInt32(IN_CLOSE_WRITE | IN_MOVED_TO), threadName: "test",
                                           logger: Self.quiet) { sink.yield($0) }
        var iterator = events.makeAsyncIterator()
        #expect(await iterator.next() == .watching)
        #expect(FileManager.default.createFile(atPath: directory + "/a.txt", contents: Data("x".utf8)))
        guard case .file(let name, _) = await iterator.next() else { Issue.record("no file event"); return }
        #expect(name == "a.txt")
        let started = ContinuousClock.now
        watcher.stop()
        #expect(ContinuousClock.now - started < .seconds(1))
    }

    @Test func theExecutorRunsBlockingWorkAndSkipsWhatWasCancelledBeforeItRan() async throws {
        let executor = BlockingExecutor(threads: 1, name: "test")
        #expect(try await executor.run { 6 * 7 } == 42)
        // Occupy the only thread, then cancel a job queued behind it: it never runs.
        let release = DispatchSemaphore(value: 0)
        let ran = RanFlag()
        let started = RanFlag()
        let blocker = Task { try await executor.run { started.value.store(true, ordering: .relaxed); release.wait(); return 1 } }
        while !started.value.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(1)) }
        let queued = Task { try await executor.run { ran.value.store(true, ordering: .relaxed); return 2 } }
        while executor.queuedJobs < 1 { try await Task.sleep(for: .milliseconds(1)) }
        queued.cancel()
        await #expect(throws: CancellationError.self) { try await queued.value }
        release.signal()
        #expect(try await blocker.value == 1)
        #expect(try await executor.run { 3 } == 3)
        let cancelledJobRan = ran.value.load(ordering: .relaxed)
        #expect(!cancelledJobRan, "the cancelled job never ran")
    }

    @Test func anAtomicReplaceThatMustNotClobberRefusesAnExistingFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("systemio-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/nested/file"
        try AtomicFile(path: path, mode: 0o640).replace(with: Data("one".utf8))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "one")
        #expect(throws: AtomicFile.Failure.self) { try AtomicFile(path: path, mode: 0o640).replace(replacing: false) { _, _ in } }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "one")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory + "/nested")
        #expect(leftovers == ["file"], "no temporary file is left behind: \(leftovers)")
    }

    /// What a background merge relies on to give way: a replacement stopped after the new file
    /// is complete, just before it would appear, leaves the old file and nothing else.
    @Test func anAtomicReplaceStoppedBeforePublishingLeavesTheOldFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("systemio-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/file"
        try AtomicFile(path: path, mode: 0o640).replace(with: Data("one".utf8))
        let stop = CancellationFlag()
        var wrote = false
        #expect(throws: CancellationError.self) {
            try AtomicFile(path: path, mode: 0o640).replace(beforePublishing: { stop.raise(); try stop.check() }) { descriptor, _ in
                wrote = Foundation.write(descriptor, "two", 3) == 3
            }
        }
        #expect(wrote, "the new file was complete")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "one")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["file"])
    }
}

final class PollCounter: Sendable { let count = Atomic<Int>(0) }
final class RanFlag: Sendable { let value = Atomic<Bool>(false) }
