import Foundation
import Testing
import TestSupport

/// The FAQ team's page as an editor sees it: `faqsync watch` syncs their saves of the real
/// fixture, `faqsync serve` serves the page, Debian's chromium loads it headless.
@Suite("the FAQ team's page in a real browser", .serialized)
struct TeamPageBrowserTests {
    /// Text as chromium's `--dump-dom` serialises a text node.
    static func domText(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\u{A0}", with: "&nbsp;")
    }

    /// Saves the way editors' programs do: a new file renamed over the old one.
    static func save(_ rows: [[String]], to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".~faq.xlsx")
        try FixtureSheet.write(rows, to: temporary)
        try #require(rename(temporary.path, url.path) == 0)
    }

    /// Polls `/v1/syncs` until `condition` holds (a wait for a condition, with a hang guard).
    static func waitForActivity(_ base: String, _ what: String, _ condition: ([String: Any]) -> Bool) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(60)
        var last = ""
        while ContinuousClock.now < deadline {
            if let response = try? await HTTP.request(.GET, "\(base)/v1/syncs") {
                last = "\(response.status) \(response.body.prefix(300))"
                if response.status == 200, let json = try? response.json(), condition(json) { return json }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("gave up waiting for \(what); last /v1/syncs answer: \(last)")
        throw CancellationError()
    }

    /// Where the screenshots of each state go: `FAQSYNC_SCREENSHOTS` (scripts/screenshot-page.sh
    /// sets it to docs/team-page/, where they are kept), else a scratch directory.
    static func screenshots(_ browser: inout HeadlessBrowser, _ url: String, state: String, into directory: String) throws {
        for (language, accept) in [("ru", "ru-RU,ru;q=0.9,en;q=0.5"), ("en", "en-GB,en")] {
            browser.acceptLanguage = accept
            let path = "\(directory)/\(state)-\(language).png"
            try browser.screenshot(url, to: path)
            let png = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 10_000, "\(path)")
        }
        browser.acceptLanguage = "ru-RU,ru;q=0.9,en;q=0.5"
    }

    @Test func anEditorSeesTheirSaveWhatChangedWhatWasSkippedAndTriesAQuestion() async throws {
        var browser = try HeadlessBrowser()
        browser.acceptLanguage = "ru-RU,ru;q=0.9,en;q=0.5"
        let directory = try TemporaryDirectory("team-page")
        defer { directory.remove() }
        let shots = ProcessInfo.processInfo.environment["FAQSYNC_SCREENSHOTS"] ?? directory.url.path
        try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
        let faq = directory.file("faq.xlsx")
        let files = ["--faq", faq.path, "--db", directory.path("store.db"), "--snapshot", directory.path("faqsync.snapshot")]
        var rows = try FixtureSheet.rows()
        try Self.save(rows, to: faq)

        let (watch, _, _) = try CLIProcess.start(["watch"] + files, environment: ["WATCH_DEBOUNCE_MS": "100", "LOG_LEVEL": "warning"])
        defer { watch.terminate(); watch.waitUntilExit() }
        // The server's zone is the team's: times are shown in it, named.
        let (serve, stdout, _) = try CLIProcess.start(["serve", "--port", "0"] + files, environment: ["LOG_LEVEL": "warning", "TZ": "Europe/Minsk"])
        defer { serve.terminate(); serve.waitUntilExit() }
        let base = "http://127.0.0.1:\(try ServeProcessTests.waitForPort(stdout))"
        _ = try await Self.waitForActivity(base, "the first sync") { ($0["recent_syncs"] as? [Any])?.count == 1 }

        // State 1, normal: what is live, in the editor's words; the engineers' terms one click away.
        let normal = try browser.dumpDOM("\(base)/")
        #expect(normal.contains("<html lang=\"ru\">"), "Accept-Language ru gets the Russian page")
        #expect(normal.contains("Шаблонов ответов: 201, из файла «faq.xlsx»; опубликованы"))
        #expect(normal.contains("(Europe/Minsk)"), "times in the server's zone, named")
        #expect(!normal.contains("UTC"))
        #expect(normal.contains("<span class=\"ok\">применено</span>"))
        #expect(normal.contains("Таких нет: все строки последнего сохранения прочитаны."))
        let details = try #require(normal.range(of: "<details class=\"technical\" id=\"operator-details\">").map { String(normal[$0.lowerBound...]) })
        #expect(details.contains("<dd id=\"generation\">1</dd>") && details.contains("<dd id=\"templates\">201</dd>"))
        let summaryView = String(normal[..<(normal.range(of: "id=\"operator-details\"")?.lowerBound ?? normal.endIndex)])
        for engineers in ["Поколение", "SHA-256", "эмбеддинг", "карантин", "multilingual-e5", "faqsync-local"] {
            #expect(!summaryView.contains(engineers), "«\(engineers)» only in the operators' details")
        }
        try Self.screenshots(&browser, "\(base)/", state: "normal", into: shots)

        // The editor changes an answer, deletes a row, adds a question with markup in it and a
        // row without an answer, and saves.
        rows[4][5] += " (обновлено)"
        let deleted = rows.remove(at: 9)
        let hostile = "Как оформить карту <script>alert('x')</script> & <b>быстро</b>?"
        rows.append(["Карты", "Новые", hostile, "1", "Все", "В приложении <img src=x onerror=alert(1)>."])
        rows.append(["Карты", "Новые", "Вопрос без ответа", "1", "Все", ""])
        let saved = ContinuousClock.now
        try Self.save(rows, to: faq)
        _ = try await Self.waitForActivity(base, "the editor's save") { ($0["recent_syncs"] as? [Any])?.count == 2 }
        print("save → visible in /v1/syncs: \(ContinuousClock.now - saved)")

        // State 2, skipped rows: what changed, and the row to fix with what to do.
        let page = try browser.dumpDOM("\(base)/")
        #expect(page.contains("<dd id=\"generation\">2</dd>"))
        let recent = try #require(page.range(of: "id=\"recent-syncs\"").map { String(page[$0.lowerBound...]) })
        #expect(recent.contains("изменён</span> <span class=\"question\">\(Self.domText(rows[4][2]))</span>"))
        #expect(recent.contains("удалён</span> <span class=\"question\">\(Self.domText(deleted[2]))</span>"))
        #expect(recent.contains("добавлен</span> <span class=\"question\">\(Self.domText(hostile))</span>"))
        #expect(recent.contains("<td class=\"file\""), "the file by its name")
        // Spreadsheet text stays text: the browser built no element from it.
        #expect(!page.contains("<script"))
        #expect(!page.contains("<img"))
        #expect(!page.contains("<b>быстро"))
        let toFix = try #require(page.range(of: "id=\"to-fix\"").map { String(page[$0.lowerBound...]) })
        #expect(toFix.contains("<td class=\"number\">\(rows.count + 1)</td>"), "the skipped row's number in the sheet")
        #expect(toFix.contains("Вопрос без ответа"))
        #expect(toFix.contains("Ответ пустой"))
        let toFixVisible = toFix.replacingOccurrences(of: #"<details class="technical">.*?</details>"#, with: "", options: .regularExpression)
        #expect(!toFixVisible.contains("[empty-answer]") && !toFixVisible.contains("the answer is empty"), "no English under the Russian instruction")
        #expect(toFix.contains("[empty-answer]"), "the program's words one click away")
        #expect(page.contains("<svg"), "the chart of the last saves")
        try Self.screenshots(&browser, "\(base)/", state: "skipped-rows", into: shots)

        // State 3, search results: a template's own question finds it first, with its answer and how sure.
        let asked = rows[20]
        let query = asked[2].addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let results = try browser.dumpDOM("\(base)/?q=\(query)&mode=hybrid")
        let first = try #require(results.range(of: "<li class=\"result\">").map { String(results[$0.lowerBound...]) })
        #expect(first.contains("<div class=\"question\">\(Self.domText(asked[2]))</div>"))
        #expect(first.contains("<span class=\"category\">\(Self.domText(asked[0]))</span>"))
        #expect(first.contains("<div class=\"answer\">\(Self.domText(asked[5]))</div>"))
        #expect(first.contains("подходит на 100%"), "how well it fits, as a percentage (the best is the measure in hybrid search)")
        #expect(results.contains("<option value=\"hybrid\" selected=\"\">по смыслу и словам (рекомендуется)</option>"))
        try Self.screenshots(&browser, "\(base)/?q=\(query)&mode=hybrid", state: "search", into: shots)

        // State 4, a failed save (the answer column renamed): what is wrong with the file in the
        // editor's words, no claim about its rows, and the last good version keeps serving.
        var renamed = FixtureSheet.header
        renamed[5] = "Ответ клиенту"
        let temporary = directory.file(".~faq.xlsx")
        try XLSXWriter.table([renamed] + rows).write(to: temporary)
        try #require(rename(temporary.path, faq.path) == 0)
        _ = try await Self.waitForActivity(base, "the failed sync") { json in
            (json["last_attempt"] as? [String: Any])?["succeeded"] as? Bool == false
        }
        let failed = try browser.dumpDOM("\(base)/")
        #expect(failed.contains("<span class=\"problem\">НЕ ПРИМЕНЕНО</span>"))
        #expect(failed.contains("в строке заголовков не найден столбец «Шаблонный ответ». Сейчас в первой строке: «Основная категория»"))
        #expect(failed.contains("Ассистент продолжает работать с последней исправной версией"))
        #expect(failed.contains("Последнее сохранение прочитать не удалось, поэтому его строки не проверены."))
        #expect(!failed.contains("Таких нет"))
        #expect(failed.contains("<dd id=\"generation\">2</dd>"), "the last good snapshot keeps serving")
        try Self.screenshots(&browser, "\(base)/", state: "failed-save", into: shots)

        // English for a browser that asks for it.
        browser.acceptLanguage = "en-GB,en"
        let english = try browser.dumpDOM("\(base)/")
        #expect(english.contains("<html lang=\"en\">"))
        #expect(english.contains("“faq.xlsx”: the column “Шаблонный ответ” was not found in the header row."))
        #expect(english.contains("What the assistant uses now"))
    }
}
