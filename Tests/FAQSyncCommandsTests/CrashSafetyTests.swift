import Foundation
import GRDB
import PostgresClient
import Reconciliation
import SpreadsheetReading
import Testing
import TestSupport

/// `faqsync sync` killed with SIGKILL at random moments never leaves a store that fails its
/// integrity check or that mixes two states.
@Suite("crash safety", .serialized)
struct CrashSafetyTests {
    typealias State = Set<String>

    /// The (identity, model-input hash, content hash) triples a complete sync of `url` stores.
    static func expectedState(_ url: URL) throws -> State {
        let table = try SpreadsheetReader().read(url)
        return Set(try Template.templates(from: table, modelInput: .questionAndAnswer).map { "\($0.id)|\($0.inputHash)|\($0.contentHash)" })
    }

    static func storedState(_ path: String) throws -> State? {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            guard try db.tableExists("embedding_versions"),
                  let version = try Int64.fetchOne(db, sql: "SELECT id FROM embedding_versions WHERE is_current = 1") else { return nil }
            return Set(try String.fetchAll(db, sql: "SELECT template_id || '|' || input_hash || '|' || content_hash FROM templates WHERE version_id = ?",
                                           arguments: [version]))
        }
    }

    /// The current version's triples on PostgreSQL.
    static func storedState(_ database: TestDatabase) throws -> State? {
        let connection = try database.connect()
        guard try connection.execute("SELECT to_regclass('embedding_versions') IS NOT NULL").bool(0, 0) else { return nil }
        let current = try connection.execute("SELECT id FROM embedding_versions WHERE is_current")
        guard current.rowCount == 1 else { return nil }
        let rows = try connection.execute("SELECT template_id || '|' || input_hash || '|' || content_hash FROM templates WHERE version_id = $1",
                                          [.integer(current.integer(0, 0))])
        return Set((0..<rows.rowCount).map { rows.string($0, 0) })
    }

    @Test(arguments: StoreBackend.available)
    func killedAt30RandomMomentsTheStoreIsAlwaysOldOrNew(backend: StoreBackend) throws {
        let directory = try TemporaryDirectory("crash")
        defer { directory.remove() }
        let db = directory.path("store.db")
        // On PostgreSQL the killed client's session ends: its transaction rolls back and its sync lock goes.
        let database = backend == .postgres ? try TestDatabase("crash") : nil
        let storedState: () throws -> State? = { try database.map(Self.storedState) ?? Self.storedState(db) }
        // Two large sheets that differ in a tenth of their answers, a twentieth removed and added.
        let base = GeneratedFAQ(count: 4000)
        var edited = base
        for index in stride(from: 0, to: edited.entries.count, by: 10) { edited.entries[index].answer += " (изменено)" }
        edited.entries.removeLast(200)
        edited.entries += GeneratedFAQ(count: 200, seed: 7).entries
        let sheets = [directory.file("a.xlsx"), directory.file("b.xlsx")]
        try base.writeXLSX(to: sheets[0])
        try edited.writeXLSX(to: sheets[1])
        let expected = try sheets.map(Self.expectedState)
        var environment = ["EMBEDDING_DIMENSIONS": "256"]
        if let database {
            environment["STORAGE_BACKEND"] = "postgres"
            environment["DATABASE_URL"] = database.url
        }

        // How long one full forced sync takes here, to spread the kills over it: timed on a store
        // that exists already, like the killed ones (the first sync also creates the schema).
        let first = try CLIProcess.run(["sync", "--faq", sheets[0].path, "--db", db], environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        let clock = ContinuousClock()
        let timed = try clock.measure {
            let result = try CLIProcess.run(["sync", "--faq", sheets[0].path, "--db", db, "--force"], environment: environment)
            #expect(result.status == 0, "\(result.stderr)")
        }
        var window = Double(timed.components.seconds) + Double(timed.components.attoseconds) / 1e18
        var generator = SystemRandomNumberGenerator()
        var lastComplete = expected[0]
        var killsDuringSync = 0

        for round in 0..<30 {
            let target = round % 2 == 0 ? 1 : 0
            let (process, _, _) = try CLIProcess.start(["sync", "--faq", sheets[target].path, "--db", db, "--force"], environment: environment)
            let delay = Double.random(in: 0.02...(window * 1.1), using: &generator)
            Thread.sleep(forTimeInterval: delay)
            if process.isRunning {
                killsDuringSync += 1
            } else {
                // The sync had finished: syncs run faster now than the one timed (other tests
                // share the cores, and their load changes). Later kills are drawn from what this
                // one showed, so that most still land while a sync runs.
                window = max(0.05, delay / 1.1)
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()

            // Whole, always (no exit 1); exit 4 when the kill fell between the commit and the
            // snapshot, which the next sync publishes.
            let status = try CLIProcess.run(["status", "--db", db], environment: environment)
            #expect([0, 4].contains(status.status), "round \(round): status after SIGKILL at \(delay)s: \(status.stdout)\(status.stderr)")
            let stored = try storedState()
            #expect(stored == lastComplete || stored == expected[target],
                    "round \(round): the store holds a mix of two states (\(stored?.count ?? 0) templates)")
            if stored == expected[target] { lastComplete = expected[target] }
        }
        #expect(killsDuringSync >= 20, "most kills landed while the sync ran (\(killsDuringSync) of 30)")

        let final = try CLIProcess.run(["sync", "--faq", sheets[1].path, "--db", db, "--json"], environment: environment)
        #expect(final.status == 0, "\(final.stderr)")
        #expect(try storedState() == expected[1])
        #expect(try CLIProcess.run(["status", "--db", db], environment: environment).status == 0)
    }
}
