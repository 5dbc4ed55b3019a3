import Foundation
import RetrievalServer
import Reconciliation
import SpreadsheetReading
import SyncActivity
import TemplateStore
import Testing
import TestSupport

/// The page and `/v1/syncs` over HTTP: languages, escaping, access, and the activity document as
/// hostile input.
@Suite("the FAQ team's page")
struct TeamPageTests {
    static let hostile = "</td></pre><script>alert(1)</script><img src=x onerror=alert(2)>\"'&"

    /// An activity whose every text is markup an attacker could put in a spreadsheet or provoke in an error.
    static func hostileActivity() -> SyncActivity {
        let now = Date()
        var failed = SyncRunRecord(startedAt: now.addingTimeInterval(-2), finishedAt: now.addingTimeInterval(-1), sourcePath: hostile,
                                   sourceSHA256: hostile, outcome: .failed)
        failed.error = hostile
        var succeeded = SyncRunRecord(startedAt: now.addingTimeInterval(-10), finishedAt: now.addingTimeInterval(-9), sourcePath: "faq.xlsx",
                                      sourceSHA256: String(repeating: "a", count: 64), outcome: .succeeded)
        succeeded.new = 1
        succeeded.changes = [SyncChange(templateID: hostile, question: hostile, kind: .new)]
        succeeded.skippedRowsJSON = SkippedRow.encodeList([SkippedRow(row: 7, column: hostile, code: .emptyAnswer, message: hostile,
                                            identityHint: .init(id: nil, category: "", subcategory: "", question: hostile))])
        var problem = SyncActivity.Problem(code: "header-not-found")
        problem.fileName = hostile
        problem.missingColumns = [hostile]
        problem.foundHeaders = [hostile]
        return SyncActivity(writtenAt: now, currentVersion: nil,
                            lastAttempt: .init(finishedAt: now, succeeded: false, error: hostile, problem: problem),
                            recentSyncs: [failed, succeeded],
                            quarantined: [QuarantinedTemplate(templateID: hostile, inputHash: "h", reason: hostile, since: now)])
    }

    static func server(_ activity: SyncActivity?, access: PageAccess = .open) async throws -> (InProcessServer, TemporaryDirectory) {
        let directory = try TemporaryDirectory("team-page")
        let path = directory.path("faqsync.snapshot")
        try LocalModelSnapshots.publish(to: path, generation: 4)
        let server = try await InProcessServer(snapshotPath: path, activitySource: SyncActivitySource(origin: "test") { activity },
                                               pageAccess: access)
        return (server, directory)
    }

    @Test func everythingShownIsEscaped() async throws {
        let (server, directory) = try await Self.server(Self.hostileActivity())
        defer { directory.remove() }
        let query = Self.hostile.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let page = try await HTTP.request(.GET, "http://127.0.0.1:\(server.port)/?q=\(query)&mode=lexical")
        await server.stop()
        #expect(page.status == 200)
        #expect(page.headers["content-type"] == "text/html; charset=utf-8")
        #expect(page.headers["content-security-policy"]?.contains("default-src 'none'") == true)
        #expect(!page.body.contains("<script"))
        #expect(!page.body.contains("<img"))
        #expect(!page.body.contains("</pre><script"))
        let escaped = "&lt;/td&gt;&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&quot;&#39;&amp;"
        // The question, the skipped row, the quarantine, the error, the last attempt and the
        // query echoed in the form: every one of them as text.
        #expect(page.body.components(separatedBy: escaped).count - 1 >= 8, "\(page.body)")
    }

    /// A save with a renamed header, as the editor reads it: what is wrong with *their* file, in
    /// the page's language and the team's column names, no claim about rows that were never read,
    /// and the program's own message (English, with setting names) only under the operators' details.
    @Test(arguments: ["ru", "en"])
    func aFailedSaveIsSaidInTheEditorsWords(_ language: String) async throws {
        let scratch = try TemporaryDirectory("renamed-header")
        defer { scratch.remove() }
        var header = FixtureSheet.header
        header[5] = "Ответ клиенту"
        let broken = scratch.file("faq.xlsx")
        try XLSXWriter.table([header] + Array(try FixtureSheet.rows().prefix(3))).write(to: broken)
        let failure = try #require(throws: SpreadsheetError.self) { try SpreadsheetReader().read(broken) }
        let now = Date()
        var lastGood = SyncRunRecord(startedAt: now.addingTimeInterval(-70), finishedAt: now.addingTimeInterval(-60), sourcePath: broken.path,
                                     sourceSHA256: String(repeating: "b", count: 64), outcome: .succeeded)
        lastGood.skippedRowsJSON = SkippedRow.encodeList([SkippedRow(row: 9, column: "F (Шаблонный ответ)", code: .emptyAnswer,
                                                                     message: "the answer is empty", identityHint: nil)])
        let activity = SyncActivity(writtenAt: now, currentVersion: nil, lastAttempt: .init(finishedAt: now, failure: failure),
                                    recentSyncs: [lastGood], quarantined: [])
        let (server, directory) = try await Self.server(activity)
        defer { directory.remove() }
        let page = try await HTTP.request(.GET, "http://127.0.0.1:\(server.port)/?lang=\(language)").body
        await server.stop()

        let problem = try #require(page.range(of: "<p class=\"problem editor-problem\">").map { page[$0.upperBound...].prefix { $0 != "<" } })
        if language == "ru" {
            #expect(problem.hasPrefix("Файл «faq.xlsx»: в строке заголовков не найден столбец «Шаблонный ответ».") , "\(problem)")
            #expect(problem.contains("Сейчас в первой строке: «Основная категория»"))
            #expect(page.contains("Последнее сохранение прочитать не удалось, поэтому его строки не проверены."))
            #expect(!page.contains("Таких нет"), "no claim that every row was read")
        } else {
            #expect(problem.hasPrefix("“faq.xlsx”: the column “Шаблонный ответ” was not found in the header row."), "\(problem)")
            #expect(page.contains("The last save could not be read, so its rows were not checked."))
            #expect(!page.contains("Nothing: every row"))
        }
        #expect(!problem.contains("FAQ_COLUMN") && !problem.contains("header-not-found"), "no setting names or codes in the editor's words")
        // The program's message is there for operators, inside the closed details.
        let details = try #require(page.range(of: "<details class=\"technical\"><summary>").map { String(page[$0.lowerBound...]) })
        #expect(details.prefix(3_000).contains("FAQ_COLUMN_ANSWER"))
        #expect(page.contains("<td class=\"number\">9</td>"), "the last readable version's skipped row, introduced as that")
    }

    @Test func aLargeSyncListsFiftyOfItsChangesAndCountsTheRest() async throws {
        let now = Date()
        var run = SyncRunRecord(startedAt: now, finishedAt: now, sourcePath: "faq.xlsx", sourceSHA256: nil, outcome: .succeeded)
        run.new = 1_000
        run.changes = (0..<1_000).map { SyncChange(templateID: "t\($0)", question: "Вопрос \($0)", kind: .new) }
        let activity = SyncActivity(writtenAt: now, currentVersion: nil, lastAttempt: nil, recentSyncs: [run], quarantined: [])
        #expect(activity.recentSyncs[0].changes.count == SyncActivity.listedPerRun, "the document keeps 200")
        let (server, directory) = try await Self.server(activity)
        defer { directory.remove() }
        let page = try await HTTP.request(.GET, "http://127.0.0.1:\(server.port)/?lang=en")
        await server.stop()
        #expect(page.body.components(separatedBy: "<li><span class=\"kind new\">").count - 1 == 50)
        #expect(page.body.contains("<li class=\"more\">… 950 more not listed</li>"))
    }

    @Test func languageFollowsTheBrowserAndTheLinkOverridesIt() async throws {
        let (server, directory) = try await Self.server(nil)
        defer { directory.remove() }
        let base = "http://127.0.0.1:\(server.port)"
        func language(_ acceptLanguage: String?, path: String = "/") async throws -> String? {
            let page = try await HTTP.request(.GET, base + path, headers: acceptLanguage.map { [("Accept-Language", $0)] } ?? [])
            return page.body.range(of: #"<html lang="(..)""#, options: .regularExpression).map { String(page.body[$0].dropFirst(12).prefix(2)) }
        }
        #expect(try await language(nil) == "en")
        #expect(try await language("ru") == "ru")
        #expect(try await language("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7") == "ru")
        #expect(try await language("de-DE,en;q=0.8,ru;q=0.9") == "ru", "the higher q among ours")
        #expect(try await language("en-GB,en;q=0.9,ru;q=0.3") == "en")
        #expect(try await language("ru;q=0") == "en", "q=0 means not acceptable")
        #expect(try await language("fr, *;q=0.5") == "en")
        #expect(try await language(String(repeating: "ru;q=x,", count: 5_000)) == "en", "a hostile header is bounded and ignored")
        #expect(try await language("en", path: "/?lang=ru") == "ru")
        let empty = try await HTTP.request(.GET, base + "/")
        #expect(empty.body.contains("No save has been synced since the service started"), "no activity yet, said in words")
        await server.stop()
    }

    @Test func aBadModeOrAnOverlongQuestionIsShownNotThrown() async throws {
        let (server, directory) = try await Self.server(nil)
        defer { directory.remove() }
        let base = "http://127.0.0.1:\(server.port)"
        let badMode = try await HTTP.request(.GET, base + "/?q=%D0%BA%D0%B0%D1%80%D1%82%D0%B0&mode=magic")
        #expect(badMode.status == 200)
        #expect(badMode.body.contains("mode must be one of hybrid, dense, lexical, not &#39;magic&#39;"))
        let long = try await HTTP.request(.GET, base + "/?q=" + String(repeating: "a", count: 5_000))
        #expect(long.body.contains("longer than 4096 characters"))
        let found = try await HTTP.request(.GET, base + "/?q=%D0%92%D0%BE%D0%BF%D1%80%D0%BE%D1%81%205%20%D0%BF%D1%80%D0%BE%20%D0%BA%D0%B0%D1%80%D1%82%D1%83")
        #expect(found.body.contains("template id t5; score"), "Вопрос 5 про карту finds t5, its id one click away")
        await server.stop()
    }

    @Test func aTokenGuardsThePageAndTheSyncsButNotTheSearchAPI() async throws {
        let token = "correct-horse-battery-staple-42"
        let (server, directory) = try await Self.server(Self.hostileActivity(), access: .token(token))
        defer { directory.remove() }
        let base = "http://127.0.0.1:\(server.port)"

        let anonymous = try await HTTP.request(.GET, base + "/")
        #expect(anonymous.status == 401)
        #expect(anonymous.body.contains("<form id=\"sign-in\" method=\"post\""))
        #expect(!anonymous.body.contains("recent-syncs"), "nothing of the activity before signing in")
        let syncs = try await HTTP.request(.GET, base + "/v1/syncs")
        #expect(syncs.status == 401)
        #expect(syncs.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
        #expect(try await HTTP.request(.GET, base + "/v1/syncs", headers: [("Authorization", "Bearer wrong-token-of-some-length")]).status == 401)
        let bearer = try await HTTP.request(.GET, base + "/v1/syncs", headers: [("Authorization", "Bearer \(token)")])
        #expect(bearer.status == 200)
        #expect((try bearer.json()["recent_syncs"] as? [Any])?.count == 2)
        #expect(try await HTTP.request(.POST, base + "/v1/search", body: #"{"query":"карта"}"#).status == 200, "the API answers as before")

        let wrong = try await HTTP.request(.POST, base + "/login", body: "token=nope", contentType: "application/x-www-form-urlencoded",
                                           followRedirects: false)
        #expect(wrong.status == 401)
        #expect(wrong.headers["set-cookie"] == nil)
        let signIn = try await HTTP.request(.POST, base + "/login", body: "token=\(token)", contentType: "application/x-www-form-urlencoded",
                                            followRedirects: false)
        #expect(signIn.status == 303)
        let cookie = try #require(signIn.headers["set-cookie"])
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
        #expect(!cookie.contains(token), "the browser keeps a value derived from the token, not the token")
        let session = String(cookie.prefix { $0 != ";" })
        let page = try await HTTP.request(.GET, base + "/", headers: [("Cookie", "other=1; \(session)")])
        #expect(page.status == 200)
        #expect(page.body.contains("recent-syncs"))
        #expect(try await HTTP.request(.GET, base + "/", headers: [("Cookie", "\(PageAccessCookie.name)=forged")]).status == 401)
        let huge = try await HTTP.request(.POST, base + "/login", body: "token=" + String(repeating: "x", count: 20_000),
                                          contentType: "application/x-www-form-urlencoded", followRedirects: false)
        #expect(huge.status == 413)
        await server.stop()
    }

    @Test func withoutATokenBeyondLoopbackThePageIsRefusedWithTheRemedy() async throws {
        let (server, directory) = try await Self.server(Self.hostileActivity(), access: .tokenMissing(address: "0.0.0.0:8088"))
        defer { directory.remove() }
        let base = "http://127.0.0.1:\(server.port)"
        let page = try await HTTP.request(.GET, base + "/")
        #expect(page.status == 403)
        #expect(page.body.contains("set SERVE_TOKEN"))
        let syncs = try await HTTP.request(.GET, base + "/v1/syncs")
        #expect(syncs.status == 403)
        #expect(try await HTTP.request(.POST, base + "/v1/search", body: #"{"query":"карта"}"#).status == 200)
        await server.stop()
    }

    @Test func anUnreadableActivityIsSaidOnThePageAndTheRestStillShows() async throws {
        let directory = try TemporaryDirectory("team-page-bad-activity")
        defer { directory.remove() }
        let path = directory.path("faqsync.snapshot")
        try LocalModelSnapshots.publish(to: path, generation: 6)
        let file = SyncActivityFile(besideSnapshot: path)
        try Data("{\"format\": 99}".utf8).write(to: URL(fileURLWithPath: file.path))
        let server = try await InProcessServer(snapshotPath: path)
        let base = "http://127.0.0.1:\(server.port)"
        let page = try await HTTP.request(.GET, base + "/")
        #expect(page.status == 200)
        #expect(page.body.contains("<dd id=\"generation\">6</dd>"), "the live state still shows")
        #expect(page.body.contains("The history of saves cannot be shown: [invalid]"))
        let syncs = try await HTTP.request(.GET, base + "/v1/syncs")
        #expect(syncs.status == 500)
        #expect((try syncs.json()["error"] as? [String: Any])?["reason"] as? String ?? "" ~= "format 99")
        try FileManager.default.removeItem(atPath: file.path)
        let none = try await HTTP.request(.GET, base + "/v1/syncs")
        #expect(none.status == 503)
        await server.stop()
    }
}

private func ~= (text: String, fragment: String) -> Bool { text.contains(fragment) }

/// The cookie's name, as a browser sees it.
enum PageAccessCookie { static let name = "faqsync_page" }

/// The document on disk is input too: bounded, validated, refused with a code.
@Suite("the activity document")
struct SyncActivityFileTests {
    @Test func roundTripsWithMillisecondsAndIsWrittenForTheGroup() throws {
        let directory = try TemporaryDirectory("activity-file")
        defer { directory.remove() }
        let file = SyncActivityFile(path: directory.path("a.json"))
        let activity = TeamPageTests.hostileActivity()
        try file.write(activity)
        let read = try #require(try file.read())
        for (kept, original) in zip(read.recentSyncs, activity.recentSyncs) {
            #expect(abs(kept.finishedAt.timeIntervalSince(original.finishedAt)) < 0.001, "milliseconds kept")
            #expect(abs(kept.startedAt.timeIntervalSince(original.startedAt)) < 0.001)
        }
        #expect(read.recentSyncs.map(\.changes) == activity.recentSyncs.map(\.changes))
        #expect(read.skippedRows.first?.question == TeamPageTests.hostile)
        let mode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
        #expect(mode == 0o640)
        #expect(try SyncActivityFile(path: directory.path("missing.json")).read() == nil)
    }

    /// Written, read and written again, a timestamp keeps its millisecond (the store keeps
    /// milliseconds; `status --json` and `/v1/syncs` must show the same ones).
    @Test func timestampsSurviveARoundTripToTheMillisecond() throws {
        let encoder = SyncActivity.encoder(), decoder = SyncActivity.decoder()
        for text in ["2026-11-26T05:42:09.037Z", "2026-11-26T05:42:09.000Z", "2026-11-26T05:42:09.999Z", "1970-01-01T00:00:00.001Z"] {
            let date = try decoder.decode([Date].self, from: Data("[\"\(text)\"]".utf8))[0]
            let again = String(decoding: try encoder.encode([date]), as: UTF8.self)
            #expect(again == "[\"\(text)\"]")
        }
    }

    @Test func hostileFilesAreRefusedWithACode() throws {
        let directory = try TemporaryDirectory("activity-hostile")
        defer { directory.remove() }
        func code(_ setUp: (String) throws -> Void) throws -> SyncActivityError.Code? {
            let path = directory.path("doc-\(UUID().uuidString.prefix(6)).json")
            try setUp(path)
            do { _ = try SyncActivityFile(path: path).read(); return nil } catch let error as SyncActivityError { return error.code }
        }
        #expect(try code { try Data("not json".utf8).write(to: URL(fileURLWithPath: $0)) } == .invalid)
        #expect(try code { try Data(#"{"format":1}"#.utf8).write(to: URL(fileURLWithPath: $0)) } == .invalid)
        #expect(try code { try Data(#"{"format":2,"written_at":"x"}"#.utf8).write(to: URL(fileURLWithPath: $0)) } == .invalid)
        // Larger than any writer's document: refused from its size, without reading it (sparse).
        #expect(try code { path in
            FileManager.default.createFile(atPath: path, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.truncate(atOffset: UInt64(SyncActivityFile.maximumBytes) + 1)
            try handle.close()
        } == .tooLarge)
        #expect(try code { try FileManager.default.createDirectory(atPath: $0, withIntermediateDirectories: false) } == .invalid)
        #expect(try code { try FileManager.default.createSymbolicLink(atPath: $0, withDestinationPath: "/etc/passwd") } == .io,
                "a symbolic link is not followed")
    }
}
