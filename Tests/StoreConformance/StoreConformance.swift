import Embedding
import Foundation
import Synchronization
import Reconciliation
import TemplateStore
import Testing

/// The `TemplateStore` contract, checked the same way on every backend: the SQLite target runs
/// it in SQLiteStoreTests, the PostgreSQL target in PostgresStoreTests. A backend that passes
/// every check can stand behind `SyncCoordinator` unchanged.
///
/// Each check gets a factory that opens the same, initially empty, store location every time it
/// is called (two instances stand for two processes).
package enum StoreConformance {
    package typealias Open = @Sendable () throws -> any TemplateStore

    package enum Check: String, CaseIterable, Sendable, CustomStringConvertible {
        case anEmptyLocationHoldsNothing
        case appliedTemplatesComeBackBitExact
        case fieldUpdatesKeepTheVectorAndVectorUpdatesReplaceIt
        case theGenerationMovesOnlyWithCommittedChanges
        case aCachedVectorIsReplacedByTheSameTextCachedAgain
        case aWrongDimensionOrANulIsRefusedAndNothingIsWritten
        case versionsSwitchAndTheOldOnesCanBeRemoved
        case runsPublicationsAndQuarantineAreKept
        case writersTakeTurns
        case changeLogsAreKeptForTheLastRuns
        case aVersionKeepsTheFusionWeightItWasCreatedWith
        case eachVersionKeepsItsTemplateCount

        package var description: String { rawValue }
    }

    package static func run(_ check: Check, open: Open) async throws {
        switch check {
        case .anEmptyLocationHoldsNothing: try await anEmptyLocationHoldsNothing(open())
        case .appliedTemplatesComeBackBitExact: try await appliedTemplatesComeBackBitExact(open())
        case .fieldUpdatesKeepTheVectorAndVectorUpdatesReplaceIt: try await fieldUpdatesKeepTheVectorAndVectorUpdatesReplaceIt(open())
        case .theGenerationMovesOnlyWithCommittedChanges: try await theGenerationMovesOnlyWithCommittedChanges(open())
        case .aCachedVectorIsReplacedByTheSameTextCachedAgain: try await aCachedVectorIsReplacedByTheSameTextCachedAgain(open())
        case .aWrongDimensionOrANulIsRefusedAndNothingIsWritten: try await aWrongDimensionOrANulIsRefusedAndNothingIsWritten(open())
        case .versionsSwitchAndTheOldOnesCanBeRemoved: try await versionsSwitchAndTheOldOnesCanBeRemoved(open())
        case .runsPublicationsAndQuarantineAreKept: try await runsPublicationsAndQuarantineAreKept(open())
        case .writersTakeTurns: try await writersTakeTurns(open)
        case .changeLogsAreKeptForTheLastRuns: try await changeLogsAreKeptForTheLastRuns(open())
        case .aVersionKeepsTheFusionWeightItWasCreatedWith: try await aVersionKeepsTheFusionWeightItWasCreatedWith(open())
        case .eachVersionKeepsItsTemplateCount: try await eachVersionKeepsItsTemplateCount(open())
        }
    }

    // MARK: Material

    package static let modelA = ModelIdentity(name: "conformance-a", version: "1", dimension: 4)
    package static let modelB = ModelIdentity(name: "conformance-b", version: "2", dimension: 3)

    /// Values a careless encoding would lose: negative zero, a subnormal, the extremes, π.
    static let awkwardVector: [Float] = [-0.0, Float.leastNonzeroMagnitude, Float.greatestFiniteMagnitude, Float.pi]

    package static func template(_ id: String, question: String, answer: String = "Ответ", dimension: Int = 4, seed: Float = 1,
                         metadataJSON: String = #"[{"name":"Канал","value":"чат \"бот\""}]"#) -> StoredTemplate {
        StoredTemplate(id: id, category: "Карты", subcategory: "Портмоне 2.0", question: question, answer: answer,
                       metadataJSON: metadataJSON, inputHash: hex("in-\(id)-\(question)"), contentHash: hex("content-\(id)-\(question)-\(answer)"),
                       vector: (0..<dimension).map { seed + Float($0) / 8 })
    }

    /// 64 hex digits derived from `text`, shaped like the SHA-256 hashes a sync stores (stores
    /// check the shape); not a real digest, which this suite has no use for.
    static func hex(_ text: String) -> String {
        var state: UInt64 = 0xcbf2_9ce4_8422_2325
        var digits = ""
        for round in 0..<4 {
            for byte in text.utf8 { state = (state ^ UInt64(byte)) &* 0x100_0000_01b3 }
            state = (state ^ UInt64(round)) &* 0x100_0000_01b3
            digits += String(state, radix: 16).leftPadded(to: 16)
        }
        return digits
    }

    static func run(_ path: String = "/conformance/faq.xlsx") -> SyncRunRecord {
        SyncRunRecord(startedAt: Date(timeIntervalSince1970: 1_700_000_000), finishedAt: Date(timeIntervalSince1970: 1_700_000_001),
                      sourcePath: path, sourceSHA256: "sha", outcome: .succeeded)
    }

    package static func changes(_ model: ModelIdentity = modelA, _ edit: (inout StoreChanges) -> Void) -> StoreChanges {
        var changes = StoreChanges(model: model, run: run())
        edit(&changes)
        return changes
    }

    static func byID(_ templates: [StoredTemplate]) -> [String: StoredTemplate] {
        Dictionary(uniqueKeysWithValues: templates.map { ($0.id, $0) })
    }

    static func bits(_ vector: [Float]) -> [UInt32] { vector.map(\.bitPattern) }

    // MARK: Checks

    static func anEmptyLocationHoldsNothing(_ store: any TemplateStore) async throws {
        // A file store exists once something is written; a server database answers true.
        if store.exists() {
            #expect(try await store.versions().isEmpty)
            #expect(try await store.recentRuns(limit: 10).isEmpty)
            #expect(try await store.generation() == 0)
        }
        #expect(try await store.lastSnapshotPublication() == nil)
        // Recording a failed run on a store that does not exist yet is a no-op, not an error.
        var failed = run()
        failed.outcome = .failed
        try await store.record(failedRun: failed)
    }

    static func appliedTemplatesComeBackBitExact(_ store: any TemplateStore) async throws {
        var first = template("t1", question: "Как заблокировать карту «ЧЕРЕПАХА»?")
        first = StoredTemplate(id: first.id, category: first.category, subcategory: first.subcategory, question: first.question,
                               answer: "Строка 1\nСтрока 2\t😀", metadataJSON: "[]", inputHash: first.inputHash,
                               contentHash: first.contentHash, vector: awkwardVector)
        let written = [first, template("t2", question: "What is the limit?", seed: -2), template("t3", question: "Где банкомат?", seed: 3)]
        let applied = try await store.apply(changes { $0.inserts = written })
        #expect(store.exists())
        #expect(applied.templateCount == 3)

        let versions = try await store.versions()
        #expect(versions.count == 1)
        let version = try #require(versions.first)
        #expect(version.id == applied.versionID && version.isCurrent && version.model == modelA && version.templateCount == 3)

        let read = byID(try await store.templates(versionID: applied.versionID))
        #expect(Set(read.keys) == ["t1", "t2", "t3"])
        for expected in written {
            let got = try #require(read[expected.id])
            #expect(got == expected || bits(got.vector) == bits(expected.vector) && got.question == expected.question)
            #expect(bits(got.vector) == bits(expected.vector), "\(expected.id): vectors bit for bit")
            #expect([got.category, got.subcategory, got.question, got.answer, got.metadataJSON, got.inputHash, got.contentHash]
                    == [expected.category, expected.subcategory, expected.question, expected.answer, expected.metadataJSON,
                        expected.inputHash, expected.contentHash])
        }
        let states = try await store.templateStates(versionID: applied.versionID)
        #expect(states["t2"]?.inputHash == written[1].inputHash && states["t2"]?.contentHash == written[1].contentHash)
        let integrity = try await store.checkIntegrity()
        #expect(integrity.passed, "\(integrity.problems)")
    }

    static func fieldUpdatesKeepTheVectorAndVectorUpdatesReplaceIt(_ store: any TemplateStore) async throws {
        let a = template("a", question: "Q a", seed: 1), b = template("b", question: "Q b", seed: 2), c = template("c", question: "Q c")
        let applied = try await store.apply(changes { $0.inserts = [a, b, c] })

        let renamed = StoredTemplate(id: "a", category: "Новая", subcategory: "", question: a.question, answer: "new answer",
                                     metadataJSON: "[]", inputHash: a.inputHash, contentHash: hex("content-a-2"), vector: [])
        let reworded = template("b", question: "Q b, reworded", seed: 9)
        _ = try await store.apply(changes {
            $0.fieldUpdates = [renamed]
            $0.vectorUpdates = [reworded]
            $0.deletions = ["c"]
        })
        let read = byID(try await store.templates(versionID: applied.versionID))
        #expect(read["c"] == nil, "deleted")
        let gotA = try #require(read["a"]), gotB = try #require(read["b"])
        #expect(gotA.answer == "new answer" && gotA.category == "Новая" && gotA.contentHash == hex("content-a-2"))
        #expect(bits(gotA.vector) == bits(a.vector), "a field update keeps the stored vector")
        #expect(gotB.question == "Q b, reworded" && gotB.inputHash == reworded.inputHash)
        #expect(bits(gotB.vector) == bits(reworded.vector), "a vector update replaces it")
        #expect(try await store.versions().first?.templateCount == 2)
    }

    static func theGenerationMovesOnlyWithCommittedChanges(_ store: any TemplateStore) async throws {
        let first = try await store.apply(changes { $0.inserts = [template("g", question: "Q")] })
        #expect(try await store.generation() == first.generation)

        // A sync that changed nothing still records its run, but the generation stays.
        let nothing = try await store.apply(changes { _ in })
        #expect(nothing.generation == first.generation)
        #expect(try await store.generation() == first.generation)

        let edited = try await store.apply(changes { $0.vectorUpdates = [template("g", question: "Q2")] })
        #expect(edited.generation > first.generation)

        // Another model's version, not made current: the served templates did not change.
        let other = try await store.apply(changes(modelB) { $0.inserts = [template("g", question: "Q", dimension: 3)]; $0.makeCurrent = false })
        #expect(try await store.currentVersion()?.model == modelA)
        let afterOther = try await store.generation()
        _ = other
        // Switching the current version changes what is served.
        _ = try await store.setCurrentVersion(other.versionID)
        #expect(try await store.generation() > afterOther)
        #expect(try await store.generation() > edited.generation)
    }

    static func aCachedVectorIsReplacedByTheSameTextCachedAgain(_ store: any TemplateStore) async throws {
        // The cache may live in the store's schema: make it exist first.
        _ = try await store.apply(changes { $0.inserts = [template("x", question: "Q")] })
        try await store.cache(model: modelA, vectors: [(inputHash: hex("h1"), vector: [1, 2, 3, 4]), (inputHash: hex("h2"), vector: awkwardVector)])
        var cached = try await store.cachedVectors(model: modelA, inputHashes: ["h1", "h2", "unknown"].map(hex))
        #expect(Set(cached.keys) == [hex("h1"), hex("h2")])
        #expect(bits(cached[hex("h2")] ?? []) == bits(awkwardVector))

        // --force re-embeds and caches again: the new vector wins.
        try await store.cache(model: modelA, vectors: [(inputHash: hex("h1"), vector: [5, 6, 7, 8])])
        cached = try await store.cachedVectors(model: modelA, inputHashes: [hex("h1")])
        #expect(cached[hex("h1")] == [5, 6, 7, 8])

        // The cache is per model.
        #expect(try await store.cachedVectors(model: modelB, inputHashes: [hex("h1"), hex("h2")]).isEmpty)
    }

    static func aWrongDimensionOrANulIsRefusedAndNothingIsWritten(_ store: any TemplateStore) async throws {
        let applied = try await store.apply(changes { $0.inserts = [template("keep", question: "Q")] })
        let before = try await store.templates(versionID: applied.versionID)
        let generation = try await store.generation()
        let runs = try await store.recentRuns(limit: 100).count

        let wrongDimension = changes { $0.inserts = [template("short", question: "Q", dimension: 3)] }
        await #expect { try await store.apply(wrongDimension) } throws: { ($0 as? StoreError)?.code == .invalidVector }

        let nul = changes { $0.fieldUpdates = [template("keep", question: "Q", answer: "a\u{0}b")] }
        await #expect { try await store.apply(nul) } throws: { error in
            guard let error = error as? StoreError else { return false }
            return error.code == .invalidText && !error.isTransient && error.description.contains("keep")
        }
        #expect(try await store.templates(versionID: applied.versionID) == before)
        #expect(try await store.generation() == generation)
        #expect(try await store.recentRuns(limit: 100).count == runs)
    }

    static func versionsSwitchAndTheOldOnesCanBeRemoved(_ store: any TemplateStore) async throws {
        let a = try await store.apply(changes { $0.inserts = [template("v", question: "Q")] })
        let b = try await store.apply(changes(modelB) { $0.inserts = [template("v", question: "Q", dimension: 3)]; $0.makeCurrent = false })
        #expect(a.versionID != b.versionID)
        #expect(try await store.currentVersion()?.id == a.versionID)

        let switched = try await store.setCurrentVersion(b.versionID)
        #expect(switched.id == b.versionID && switched.isCurrent)
        #expect(try await store.versions().filter(\.isCurrent).map(\.id) == [b.versionID], "exactly one current version")

        await #expect { try await store.setCurrentVersion(b.versionID + a.versionID + 1_000) } throws: {
            ($0 as? StoreError)?.code == .versionNotFound
        }
        #expect(try await store.currentVersion()?.id == b.versionID, "a failed switch changes nothing")

        let cleaned = try await store.removeNonCurrentVersions()
        #expect(cleaned.removedVersions.map(\.id) == [a.versionID])
        #expect(cleaned.removedTemplates == 1)
        #expect(try await store.versions().map(\.id) == [b.versionID])
        #expect(try await store.templates(versionID: a.versionID).isEmpty)
    }

    /// Hybrid search's weight belongs to the version: recorded when it is created, kept when later
    /// applies name another (a new faqsync with a re-measured weight does not change an existing
    /// version behind its snapshots), and nil for a version created without one.
    static func aVersionKeepsTheFusionWeightItWasCreatedWith(_ store: any TemplateStore) async throws {
        let a = try await store.apply(changes { $0.inserts = [template("w", question: "Q")]; $0.hybridDenseWeight = 0.8 })
        _ = try await store.apply(changes { $0.inserts = [template("x", question: "Q2")]; $0.hybridDenseWeight = 0.3 })
        let b = try await store.apply(changes(modelB) { $0.inserts = [template("w", question: "Q", dimension: 3)]; $0.makeCurrent = false })
        let versions = try await store.versions()
        #expect(versions.first { $0.id == a.versionID }?.recordedHybridDenseWeight == 0.8)
        #expect(versions.first { $0.id == a.versionID }?.hybridDenseWeight == 0.8)
        #expect(versions.first { $0.id == b.versionID }?.recordedHybridDenseWeight == nil)
        #expect(try await store.setCurrentVersion(a.versionID).recordedHybridDenseWeight == 0.8)
    }

    /// A version's template count is recorded by the transaction that changes its templates (the
    /// versions are read several times per sync; counting 100,000 rows each time is not free),
    /// and it is always what the version holds.
    static func eachVersionKeepsItsTemplateCount(_ store: any TemplateStore) async throws {
        let a = try await store.apply(changes { $0.inserts = [template("a", question: "Q a"), template("b", question: "Q b"), template("c", question: "Q c")] })
        #expect(try await store.currentVersion()?.templateCount == 3)
        let edited = try await store.apply(changes {
            $0.inserts = [template("d", question: "Q d"), template("e", question: "Q e")]
            $0.deletions = ["a"]
        })
        #expect(edited.templateCount == 4)
        let b = try await store.apply(changes(modelB) { $0.inserts = [template("a", question: "Q a", dimension: 3)]; $0.makeCurrent = false })
        var counts = Dictionary(uniqueKeysWithValues: try await store.versions().map { ($0.id, $0.templateCount) })
        #expect(counts == [a.versionID: 4, b.versionID: 1])
        #expect(try await store.setCurrentVersion(b.versionID).templateCount == 1)
        _ = try await store.apply(changes(modelB) { $0.deletions = ["a"] })
        counts = Dictionary(uniqueKeysWithValues: try await store.versions().map { ($0.id, $0.templateCount) })
        #expect(counts == [a.versionID: 4, b.versionID: 0])
        let integrity = try await store.checkIntegrity()
        #expect(integrity.passed, "\(integrity.problems)")
    }

    static func runsPublicationsAndQuarantineAreKept(_ store: any TemplateStore) async throws {
        let since = Date(timeIntervalSince1970: 1_700_000_100)
        let applied = try await store.apply(changes {
            $0.inserts = [template("ok", question: "Q")]
            $0.quarantine = [QuarantinedTemplate(templateID: "bad", inputHash: hex("in-bad"), reason: "input too long", since: since)]
        })
        let quarantine = try await store.quarantine(model: modelA)
        #expect(quarantine.map(\.templateID) == ["bad"])
        #expect(quarantine.first?.reason == "input too long")
        #expect(quarantine.first.map { abs($0.since.timeIntervalSince(since)) < 1 } == true)
        #expect(try await store.quarantine(model: modelB).isEmpty)

        var failed = run("/conformance/broken.xlsx")
        failed.outcome = .failed
        failed.error = "no header"
        try await store.record(failedRun: failed)
        let runs = try await store.recentRuns(limit: 10)
        #expect(runs.count == 2)
        #expect(runs.first?.outcome == .failed && runs.first?.error == "no header", "newest first")
        #expect(runs.last?.outcome == .succeeded && runs.last?.versionID == applied.versionID && runs.last?.templates == 1)
        #expect(try await store.recentRuns(limit: 1).count == 1)

        #expect(try await store.lastSnapshotPublication() == nil)
        let published = Date(timeIntervalSince1970: 1_700_000_200)
        for generation: UInt64 in [1, 2] {
            try await store.record(snapshotPublication: PublishedSnapshot(
                generation: generation, versionID: applied.versionID, templateCount: 1, path: "/run/faqsync/faqsync.snapshot",
                publishedAt: published, storeGeneration: applied.generation))
        }
        let last = try #require(try await store.lastSnapshotPublication())
        #expect(last.generation == 2 && last.versionID == applied.versionID && last.storeGeneration == applied.generation)
        #expect(last.path == "/run/faqsync/faqsync.snapshot" && abs(last.publishedAt.timeIntervalSince(published)) < 1)
    }

    /// Each run keeps the templates it touched, the store adding the deleted ones with their
    /// questions, for the newest `historyRuns` runs only.
    static func changeLogsAreKeptForTheLastRuns(_ store: any TemplateStore) async throws {
        let a = template("a", question: "Вопрос А?"), b = template("b", question: "Вопрос Б?")
        _ = try await store.apply(changes {
            $0.inserts = [a, b]
            $0.changeLog = [SyncChange(templateID: "a", question: a.question, kind: .new), SyncChange(templateID: "b", question: b.question, kind: .new)]
            $0.historyRuns = 2
        })
        _ = try await store.apply(changes {
            $0.deletions = ["b"]
            $0.fieldUpdates = [template("a", question: a.question, answer: "Новый ответ")]
            $0.changeLog = [SyncChange(templateID: "a", question: a.question, kind: .metadataOnly)]
            $0.historyRuns = 2
        })
        var runs = try await store.recentRuns(limit: 10)
        #expect(runs.map(\.changes.count) == [2, 2])
        #expect(runs.first?.changes == [SyncChange(templateID: "a", question: a.question, kind: .metadataOnly),
                                       SyncChange(templateID: "b", question: "Вопрос Б?", kind: .deleted)],
                "the deleted template's question comes from the store")
        #expect(runs.last?.changes.map(\.kind) == [.new, .new])

        // A third run: only the newest two keep their logs.
        _ = try await store.apply(changes {
            $0.vectorUpdates = [template("a", question: a.question, seed: 7)]
            $0.changeLog = [SyncChange(templateID: "a", question: a.question, kind: .modified)]
            $0.historyRuns = 2
        })
        runs = try await store.recentRuns(limit: 10)
        #expect(runs.map(\.changes.count) == [1, 2, 0])
        #expect(runs.first?.changes.first?.kind == .modified)

        // Without the logs (what a no-op sync reads): the same runs, no changes loaded.
        let bare = try await store.recentRuns(limit: 10, changesPerRun: 0)
        #expect(bare.map(\.id) == runs.map(\.id))
        #expect(bare.map(\.modified) == runs.map(\.modified))
        #expect(bare.allSatisfy { $0.changes.isEmpty })

        // A limit per run (what the activity document reads): each run's first entries, in order,
        // its counts whole.
        let limited = try await store.recentRuns(limit: 10, changesPerRun: 1)
        #expect(limited.map(\.id) == runs.map(\.id))
        #expect(limited.map(\.changes.count) == [1, 1, 0])
        #expect(limited[1].changes == [runs[1].changes[0]], "the first entry of the run's log, as the log holds it")
        #expect(limited.map(\.deleted) == runs.map(\.deleted))
    }

    /// Two instances on one location (two processes): `exclusively` never lets their bodies overlap.
    static func writersTakeTurns(_ open: Open) async throws {
        let first = try open(), second = try open()
        _ = try await first.apply(changes { $0.inserts = [template("w", question: "Q")] })
        let log = TurnLog()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, store) in [first, second].enumerated() {
                group.addTask {
                    for round in 0..<3 {
                        try await store.exclusively {
                            log.append("\(index)-\(round) in")
                            try await Task.sleep(for: .milliseconds(30))
                            log.append("\(index)-\(round) out")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let entries = log.entries
        #expect(entries.count == 12)
        for pair in stride(from: 0, to: entries.count, by: 2) {
            let inside = entries[pair], outside = entries[pair + 1]
            #expect(inside.hasSuffix(" in") && outside == inside.replacingOccurrences(of: " in", with: " out"), "overlap: \(entries)")
        }
    }
}

/// An append-only list shared by concurrent tasks.
final class TurnLog: Sendable {
    private let list = Mutex<[String]>([])
    func append(_ entry: String) { list.withLock { $0.append(entry) } }
    var entries: [String] { list.withLock { $0 } }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
