import Foundation
import Testing
import TestSupport

/// `faqsync serve` as a process: where it listens decides whether the page needs SERVE_TOKEN,
/// and `/v1/syncs` says what `status --json` says.
@Suite("the FAQ team's page from faqsync serve", .serialized)
struct TeamPageProcessTests {
    static func syncedStore(_ label: String) throws -> (TemporaryDirectory, [String]) {
        let directory = try TemporaryDirectory(label)
        let faq = directory.file("faq.xlsx")
        var rows = try FixtureSheet.rows()
        try FixtureSheet.write(rows, to: faq)
        let files = ["--faq", faq.path, "--db", directory.path("store.db"), "--snapshot", directory.path("faqsync.snapshot")]
        #expect(try CLIProcess.run(["sync"] + files).status == 0)
        rows[2][5] += " Обновлено."
        rows.append(["Карты", "Новые", "Строка без ответа", "1", "Все", ""])
        try FixtureSheet.write(rows, to: faq)
        #expect(try CLIProcess.run(["sync"] + files).status == 0)
        return (directory, files)
    }

    @Test func syncsEndpointReturnsWhatStatusJSONReturns() async throws {
        let (directory, files) = try Self.syncedStore("syncs-endpoint")
        defer { directory.remove() }
        let status = try CLIProcess.run(["status", "--json"] + files)
        let statusJSON = try status.json()
        let (serve, stdout, _) = try CLIProcess.start(["serve", "--port", "0"] + files, environment: ["LOG_LEVEL": "warning"])
        defer { serve.terminate(); serve.waitUntilExit() }
        let port = try ServeProcessTests.waitForPort(stdout)
        let syncs = try await HTTP.request(.GET, "http://127.0.0.1:\(port)/v1/syncs")
        #expect(syncs.status == 200)
        let json = try syncs.json()
        let fromStatus = try #require(statusJSON["recent_syncs"] as? [[String: Any]])
        let fromServe = try #require(json["recent_syncs"] as? [[String: Any]])
        #expect(fromServe.count == 2)
        #expect(NSArray(array: fromServe).isEqual(to: fromStatus), "the same runs, the same names, the same values")
        #expect(NSArray(array: json["skipped_rows"] as? [Any] ?? []).isEqual(to: statusJSON["skipped_rows"] as? [Any] ?? [Any]()))
        let changes = try #require(fromServe.first?["changes"] as? [[String: Any]])
        #expect(changes.map { $0["kind"] as? String } == ["modified"])

        // Both are what docs/schemas says, and the check would notice a renamed field.
        let schemas = try JSONSchemaCheck()
        #expect(schemas.problems(json, against: "sync-activity.schema.json") == [])
        #expect(schemas.problems(statusJSON, against: "status.schema.json") == [])
        let activityFile = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.file("faqsync.snapshot.activity.json")))
        #expect(schemas.problems(activityFile, against: "sync-activity.schema.json") == [])
        var renamed = fromServe[0]
        renamed["embedded"] = renamed.removeValue(forKey: "embedded_texts")
        var drifted = json
        drifted["recent_syncs"] = [renamed]
        #expect(Set(schemas.problems(drifted, against: "sync-activity.schema.json"))
                == ["$.recent_syncs[0]: lacks embedded_texts", "$.recent_syncs[0]: has undeclared embedded"])
        drifted = json
        drifted["format"] = true
        #expect(schemas.problems(drifted, against: "sync-activity.schema.json") == ["$.format: is not 1"])
    }

    @Test func beyondLoopbackThePageNeedsTheToken() async throws {
        let (directory, files) = try Self.syncedStore("serve-token")
        defer { directory.remove() }

        // Listening on every address without a token: the API serves, the page says what to set.
        do {
            let (serve, stdout, _) = try CLIProcess.start(["serve", "--host", "0.0.0.0", "--port", "0"] + files, environment: ["LOG_LEVEL": "error"])
            defer { serve.terminate(); serve.waitUntilExit() }
            let base = "http://127.0.0.1:\(try ServeProcessTests.waitForPort(stdout))"
            let page = try await HTTP.request(.GET, base + "/")
            #expect(page.status == 403)
            #expect(page.body.contains("set SERVE_TOKEN"))
            #expect(try await HTTP.request(.POST, base + "/v1/search", body: #"{"query":"карта"}"#).status == 200)
        }

        // With SERVE_TOKEN (from a file, as a credential would be): bearer and sign-in work.
        let token = "a-long-enough-token-for-the-page"
        try Data("\(token)\n".utf8).write(to: directory.file("serve-token"))
        do {
            let (serve, stdout, _) = try CLIProcess.start(["serve", "--host", "0.0.0.0", "--port", "0"] + files,
                                                          environment: ["LOG_LEVEL": "error", "SERVE_TOKEN_FILE": directory.path("serve-token")])
            defer { serve.terminate(); serve.waitUntilExit() }
            let base = "http://127.0.0.1:\(try ServeProcessTests.waitForPort(stdout))"
            #expect(try await HTTP.request(.GET, base + "/").status == 401)
            let page = try await HTTP.request(.GET, base + "/", headers: [("Authorization", "Bearer \(token)")])
            #expect(page.status == 200)
            #expect(page.body.contains("Строка без ответа"), "the skipped row, for the signed-in editor")
        }

        // On loopback (the default address) the page is open without a token; a token that is set
        // is asked for there too (a reverse proxy on this host may publish the loopback port).
        do {
            let (serve, stdout, _) = try CLIProcess.start(["serve", "--port", "0"] + files, environment: ["LOG_LEVEL": "error"])
            defer { serve.terminate(); serve.waitUntilExit() }
            let base = "http://127.0.0.1:\(try ServeProcessTests.waitForPort(stdout))"
            #expect(try await HTTP.request(.GET, base + "/").status == 200)
        }
        do {
            let (serve, stdout, _) = try CLIProcess.start(["serve", "--port", "0"] + files, environment: ["LOG_LEVEL": "error", "SERVE_TOKEN": token])
            defer { serve.terminate(); serve.waitUntilExit() }
            let base = "http://127.0.0.1:\(try ServeProcessTests.waitForPort(stdout))"
            #expect(try await HTTP.request(.GET, base + "/").status == 401)
            #expect(try await HTTP.request(.GET, base + "/v1/syncs", headers: [("Authorization", "Bearer \(token)")]).status == 200)
        }

        // A token too short to be one is a configuration error at start-up.
        let short = try CLIProcess.run(["serve", "--host", "0.0.0.0", "--port", "0"] + files, environment: ["SERVE_TOKEN": "short"])
        #expect(short.status != 0)
        #expect(short.stderr.contains("SERVE_TOKEN"))
    }
}
