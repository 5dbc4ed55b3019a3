import Foundation
import Logging
import SnapshotFormat
import SnapshotPublishing
import SnapshotReader
import Synchronization
import Testing
import TestSupport

@Suite("live switching", .serialized)
struct LiveSwitchTests {
    let directory: TemporaryDirectory
    let path: String
    let publisher: SnapshotFileWriter

    init() throws {
        directory = try TemporaryDirectory("live")
        path = directory.path("faqsync.snapshot")
        publisher = SnapshotFileWriter(path: path)
    }

    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @discardableResult
    func publish(_ generation: UInt64, count: Int = 50) throws -> UInt64 {
        try publisher.publish(model: GenerationSnapshots.model, templates: GenerationSnapshots.templates(generation: generation, count: count),
                              minimumGeneration: generation)
    }

    /// Readers in several threads query in a loop while 200 generations of different sizes are
    /// published: no error, no result mixing two generations, no generation going backwards.
    @Test func readersNeverSeeAMixedOrOlderGeneration() async throws {
        defer { directory.remove() }
        try publish(1)
        let live = try LiveSnapshot(path: path, logger: Self.quiet)
        live.startFollowing(fallbackInterval: .milliseconds(200))
        defer { live.stopFollowing() }

        let stop = Atomic<Bool>(false)
        let problems = Mutex<[String]>([])
        let queries = Atomic<Int>(0)
        let finished = Atomic<Int>(0)
        let query = (0..<GenerationSnapshots.dimension).map { Float(cos(Double($0))) }
        let readers = (0..<4).map { reader in
            Thread {
                defer { finished.add(1, ordering: .relaxed) }
                var lastGeneration: UInt64 = 0
                while !stop.load(ordering: .relaxed) {
                    do {
                        let results = try live.search(query, k: 5)
                        queries.add(1, ordering: .relaxed)
                        if results.generation < lastGeneration {
                            problems.withLock { $0.append("reader \(reader): generation went back from \(lastGeneration) to \(results.generation)") }
                        }
                        lastGeneration = results.generation
                        if let mixed = results.results.first(where: { $0.answer != "generation \(results.generation)" }) {
                            problems.withLock { $0.append("reader \(reader): generation \(results.generation) returned '\(mixed.answer)'") }
                        }
                    } catch {
                        problems.withLock { $0.append("reader \(reader): \(error)") }
                    }
                }
            }
        }
        readers.forEach { $0.start() }

        for generation in UInt64(2)...201 {
            try publish(generation, count: 5 + Int(generation % 7) * 40)
            try await Task.sleep(for: .milliseconds(5))
        }
        // The last generation arrives through the follower within its fallback interval at worst.
        let deadline = ContinuousClock.now + .seconds(5)
        while live.current?.generation != 201, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        stop.store(true, ordering: .relaxed)
        // Every reader has finished its last query before the counts are read.
        while finished.load(ordering: .relaxed) < readers.count { try await Task.sleep(for: .milliseconds(5)) }

        #expect(problems.withLock { $0 }.isEmpty, "\(problems.withLock { $0.prefix(5) })")
        #expect(live.current?.generation == 201)
        #expect(queries.load(ordering: .relaxed) > 200)
        #expect(live.statistics.reloads >= 1)
        #expect(live.statistics.failedReloads == 0)
    }

    enum Damage: String, CaseIterable {
        case truncated, wrongMagic, badChecksum, otherFormatVersion, olderGeneration
    }

    /// A bad new file is rejected with its reason; the previous snapshot keeps serving.
    @Test(arguments: Damage.allCases)
    func aDamagedSnapshotIsRejectedAndTheOldOneKeepsServing(damage: Damage) throws {
        defer { directory.remove() }
        try publish(5)
        let live = try LiveSnapshot(path: path, logger: Self.quiet)
        #expect(live.current?.generation == 5)

        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        var bad = good
        switch damage {
        case .truncated: bad = good.prefix(good.count - 100)
        case .wrongMagic: bad[0] = UInt8(ascii: "X")
        case .badChecksum: bad[good.count - 3] ^= 0xFF
        case .otherFormatVersion: bad[8] = 9
        case .olderGeneration: bad = good  // same file content, rewritten below with generation 3
        }
        let replacement = directory.path("replacement")
        if damage == .olderGeneration {
            let older = SnapshotFileWriter(path: replacement)
            _ = try older.publish(model: GenerationSnapshots.model, templates: GenerationSnapshots.templates(generation: 3, count: 10),
                                  minimumGeneration: 3)
        } else {
            try bad.write(to: URL(fileURLWithPath: replacement))
        }
        #expect(rename(replacement, path) == 0)

        let outcome = live.reloadIfChanged()
        let expected: SnapshotError.Code = switch damage {
        case .truncated: .truncated
        case .wrongMagic: .badMagic
        case .badChecksum: .checksumMismatch
        case .otherFormatVersion: .unsupportedVersion
        case .olderGeneration: .inconsistent
        }
        #expect(outcome == .rejected(expected))
        #expect(live.current?.generation == 5, "the old snapshot keeps serving")
        #expect(try live.search((0..<GenerationSnapshots.dimension).map { Float($0) }, k: 3).generation == 5)
        #expect(live.statistics.failedReloads == 1)
        #expect(live.statistics.lastFailure?.code == expected)
        // The same bad file is reported once, not on every check.
        #expect(live.reloadIfChanged() == .unchanged)
        #expect(live.statistics.failedReloads == 1)

        // A good publication after it is picked up.
        try publish(6)
        #expect(live.reloadIfChanged() == .switched(from: 5, to: 6))
    }

    /// A header whose numbers lie (overflowing sizes, offsets beyond any file, a generation no
    /// publisher writes) is refused with a reason: the reader keeps serving, never traps.
    @Test(arguments: SnapshotHeaderDamage.allCases)
    func aHeaderWhoseNumbersOverflowIsRejected(damage: SnapshotHeaderDamage) throws {
        defer { directory.remove() }
        try publish(5)
        let live = try LiveSnapshot(path: path, logger: Self.quiet)
        let bad = damage.apply(to: try Data(contentsOf: URL(fileURLWithPath: path)))
        let replacement = directory.path("replacement")
        try bad.write(to: URL(fileURLWithPath: replacement))
        #expect(throws: SnapshotError.self) { try MappedSnapshot(path: replacement) }
        #expect(throws: SnapshotError.self) { try MappedSnapshot(path: replacement, verifyChecksum: false) }
        #expect(rename(replacement, path) == 0)
        guard case .rejected(let code) = live.reloadIfChanged() else {
            Issue.record("the damaged file was not rejected")
            return
        }
        #expect(code == .inconsistent || code == .truncated)
        #expect(live.current?.generation == 5)
        #expect(try live.search((0..<GenerationSnapshots.dimension).map { Float($0) }, k: 3).generation == 5)
        #expect(live.reloadIfChanged() == .unchanged, "reported once")

        // The publisher treats the bad file as no previous generation and goes on from its minimum.
        #expect(SnapshotFileWriter(path: path).existingGeneration() == nil)
        try publish(6)
        #expect(live.reloadIfChanged() == .switched(from: 5, to: 6))
    }

    @Test func aReaderStartedBeforeTheFirstSnapshotPicksItUp() async throws {
        defer { directory.remove() }
        let live = try LiveSnapshot(path: path, requireSnapshot: false, logger: Self.quiet)
        #expect(live.current == nil)
        #expect(throws: SearchError.self) { try live.search([1], k: 1) }
        live.startFollowing(fallbackInterval: .seconds(10))
        defer { live.stopFollowing() }
        try publish(1)
        let deadline = ContinuousClock.now + .seconds(3)
        while live.current == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(live.current?.generation == 1, "inotify woke the follower well before the 10 s fallback")
    }

    /// A `chmod` or a new hard link changes the served file's inode (its change time) but not its
    /// content: the reader keeps serving it, and does not take it for a rejected newcomer.
    @Test func aChangedModeIsNotANewFile() throws {
        defer { directory.remove() }
        try publish(3)
        let live = try LiveSnapshot(path: path, logger: Self.quiet)
        #expect(chmod(path, 0o400) == 0)
        #expect(link(path, directory.path("hard-link")) == 0)
        #expect(live.reloadIfChanged() == .unchanged)
        #expect(live.rejectedFileAtPath == nil)
        #expect(live.statistics.failedReloads == 0)
        try publish(4)
        #expect(live.reloadIfChanged() == .switched(from: 3, to: 4))
    }
}
