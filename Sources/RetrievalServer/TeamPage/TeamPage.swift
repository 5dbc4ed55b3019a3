import Foundation
import PathNames
import SnapshotFormat
import SnapshotReader
import SyncActivity

/// What the FAQ team's page shows, gathered by the handler; `render` turns it into the one HTML
/// document (no script, no external asset: the style sheet is inline).
struct TeamPage {
    struct Search {
        let query: String
        let mode: SearchMode
        /// The results, or why there are none.
        let outcome: Result<SearchResults, SearchFailure>
    }

    struct SearchFailure: Error {
        let message: String
    }

    let language: PageLanguage
    let now: Date
    let snapshot: SnapshotHeader?
    let activity: SyncActivity?
    /// Why the activity document could not be read, when it could not.
    let activityProblem: String?
    let search: Search?
    /// The page is behind a token: offer to sign out.
    var signedIn = false
    /// Times are shown in the server's zone, named (the team and the server are usually in one
    /// place; UTC alone made every editor do arithmetic).
    var timeZone = TimeZone.current

    var text: PageText { language.text }

    /// Changes listed per sync on the page (it reloads every 5 seconds; `GET /v1/syncs` lists up
    /// to `SyncActivity.listedPerRun`).
    static let listedChangesPerRun = 50

    func render() -> String {
        var html = HTML()
        html.markup("<!DOCTYPE html>\n<html lang=\"")
        html.text(text.code)
        html.markup("\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        if search == nil { html.markup("<meta http-equiv=\"refresh\" content=\"5\">") }
        html.element("<title>", text.title, close: "</title>")
        html.markup("<style>")
        html.markup(Self.style)
        html.markup("</style></head><body><main>")
        html.element("<h1>", text.title, close: "</h1>")
        live(&html)
        checks(&html)
        trySection(&html)
        toFix(&html)
        recentSyncs(&html)
        html.markup("<p class=\"note\">")
        html.text(text.refreshNote)
        if signedIn {
            html.markup(" <a href=\"/logout\">")
            html.text(text.signOut)
            html.markup("</a>")
        }
        html.markup("</p></main></body></html>\n")
        return html.output
    }

    // MARK: Sections

    private func live(_ html: inout HTML) {
        html.markup("<section id=\"live\">")
        html.element("<h2>", text.liveHeading, close: "</h2>")
        guard let snapshot else {
            html.element("<p class=\"problem\">", text.noSnapshot, close: "</p>")
            lastSync(&html)
            html.markup("</section>")
            return
        }
        let published = Date(timeIntervalSince1970: Double(snapshot.createdMillis) / 1000)
        let lastGood = activity?.recentSyncs.first { $0.outcome == .succeeded }
        let fileName = lastGood.map { PathName.fileName(of: $0.sourcePath) }
        html.element("<p id=\"live-summary\" class=\"summary\">",
                     text.liveSummary(snapshot.count, fileName, timestamp(published), text.ago(max(0, now.timeIntervalSince(published)))),
                     close: "</p>")
        lastSync(&html)
        // What operators need, one click away: the engineers' terms stay out of the editor's view.
        html.markup("<details class=\"technical\" id=\"operator-details\"><summary>")
        html.text(text.operatorDetails)
        html.markup("</summary><dl>")
        row(&html, text.generation, "\(snapshot.generation)", id: "generation")
        row(&html, text.published, timestamp(published), id: "published")
        row(&html, text.model, "\(snapshot.modelName) \(snapshot.modelVersion) (\(snapshot.dimension))", id: "model")
        row(&html, text.templates, "\(snapshot.count)", id: "templates")
        if let hash = lastGood?.sourceSHA256 { row(&html, text.fileHash, hash, id: "file-sha256") }
        html.markup("</dl></details>")
        html.markup("</section>")
    }

    /// The writer's last attempt: as it reported it, else the newest recorded run.
    var lastAttempt: SyncActivity.Attempt? {
        activity?.lastAttempt ?? activity?.recentSyncs.first.map {
            SyncActivity.Attempt(finishedAt: $0.finishedAt, succeeded: $0.outcome == .succeeded, error: $0.error)
        }
    }

    /// The last attempt, when it failed: the rows of that save are unknown.
    var failedAttempt: SyncActivity.Attempt? {
        lastAttempt.flatMap { $0.succeeded ? nil : $0 }
    }

    private func lastSync(_ html: inout HTML) {
        html.markup("<div id=\"last-sync\"><p>")
        html.element("<b>", text.lastSync + ": ", close: "</b>")
        if let activityProblem {
            html.element("<span class=\"problem\">", "\(text.activityProblem): \(activityProblem)", close: "</span>")
            html.markup("</p></div>")
            return
        }
        guard let attempt = lastAttempt else {
            html.text(text.noActivity)
            html.markup("</p></div>")
            return
        }
        html.element(attempt.succeeded ? "<span class=\"ok\">" : "<span class=\"problem\">",
                     attempt.succeeded ? text.succeeded : text.failed, close: "</span>")
        html.text(" " + timestamp(attempt.finishedAt) + ", " + text.ago(max(0, now.timeIntervalSince(attempt.finishedAt))))
        html.markup("</p>")
        if !attempt.succeeded {
            // In the editor's words first; the error as the program wrote it, for operators.
            html.element("<p class=\"problem editor-problem\">", text.problem(attempt.problem ?? SyncActivity.Problem(code: "failed")), close: "</p>")
            if snapshot != nil { html.element("<p>", text.keepsServing, close: "</p>") }
            if let error = attempt.error { technical(&html, error) }
        }
        html.markup("</div>")
    }

    /// `detail`, the program's own message, under a closed summary for operators.
    private func technical(_ html: inout HTML, _ detail: String) {
        html.markup("<details class=\"technical\"><summary>")
        html.text(text.programMessage)
        html.markup("</summary><pre class=\"error\">")
        html.text(detail)
        html.markup("</pre></details>")
    }

    private func recentSyncs(_ html: inout HTML) {
        html.markup("<section id=\"recent-syncs\">")
        html.element("<h2>", text.recentHeading, close: "</h2>")
        let runs = activity?.recentSyncs ?? []
        guard !runs.isEmpty else {
            html.element("<p>", text.noSyncs, close: "</p>")
            html.markup("</section>")
            return
        }
        html.markup("<div id=\"chart\">")
        html.append(SyncChart(runs: runs).render(text))
        html.markup("</div><table>")
        headings(&html, [text.time, text.file, text.new, text.modified, text.metadataOnly, text.deleted, text.skipped,
                         text.quarantined, text.embedded, text.fromCache, text.duration])
        for run in runs {
            html.markup(run.outcome == .failed ? "<tbody class=\"sync failed\"><tr>" : "<tbody class=\"sync\"><tr>")
            html.element("<td>", timestamp(run.finishedAt), close: "</td>")
            html.markup("<td class=\"file\" title=\"")
            html.text(run.sourceSHA256.map { "SHA-256 \($0)" } ?? "")
            html.markup("\">")
            html.text(run.sourcePath.isEmpty ? "-" : PathName.fileName(of: run.sourcePath))
            html.markup("</td>")
            for count in [run.new, run.modified, run.metadataOnly, run.deleted, run.skippedRows.count, run.quarantined, run.embeddedTexts, run.cacheHits] {
                html.element("<td class=\"number\">", "\(count)", close: "</td>")
            }
            html.element("<td class=\"number\">", String(format: "%.2f ", max(0, run.finishedAt.timeIntervalSince(run.startedAt))) + text.secondsUnit, close: "</td>")
            html.markup("</tr>")
            if let error = run.error, run.outcome == .failed {
                html.markup("<tr><td colspan=\"11\">")
                technical(&html, error)
                html.markup("</td></tr>")
            }
            let changed = run.new + run.modified + run.metadataOnly + run.deleted
            if !run.changes.isEmpty {
                html.markup("<tr><td colspan=\"11\"><details class=\"changes\"")
                if run.id == runs.first?.id { html.markup(" open") }
                html.markup("><summary>")
                html.text("\(text.touched): \(changed)")
                html.markup("</summary><ul>")
                let listed = run.changes.prefix(Self.listedChangesPerRun)
                for change in listed {
                    html.markup("<li><span class=\"kind ")
                    html.text(change.kind.rawValue)
                    html.markup("\">")
                    html.text(text.kindNames[change.kind.rawValue] ?? change.kind.rawValue)
                    html.markup("</span> ")
                    html.element("<span class=\"question\">", change.question, close: "</span>")
                    html.markup("</li>")
                }
                if changed > listed.count {
                    html.element("<li class=\"more\">", "… \(changed - listed.count) \(text.moreChanges)", close: "</li>")
                }
                html.markup("</ul></details></td></tr>")
            }
            html.markup("</tbody>")
        }
        html.markup("</table></section>")
    }

    private func toFix(_ html: inout HTML) {
        html.markup("<section id=\"to-fix\">")
        html.element("<h2>", text.needsFixingHeading, close: "</h2>")
        let skipped = activity?.skippedRows ?? []
        let quarantined = activity?.quarantined ?? []
        // After a save that could not be read nothing is known about its rows: say so, and show
        // what the last version that was read left out as that, not as the state of the file.
        if failedAttempt != nil {
            html.element("<p class=\"problem\" id=\"rows-unknown\">", text.lastSaveUnread, close: "</p>")
            if !skipped.isEmpty { html.element("<p>", text.fromLastReadVersion, close: "</p>") }
        } else if skipped.isEmpty && quarantined.isEmpty {
            html.element("<p>", text.nothingToFix, close: "</p>")
        }
        if !skipped.isEmpty {
            html.markup("<table id=\"skipped-rows\">")
            headings(&html, [text.row, text.column, text.question, text.reason])
            html.markup("<tbody>")
            for row in skipped {
                html.markup("<tr class=\"skipped\">")
                html.element("<td class=\"number\">", "\(row.row)", close: "</td>")
                html.element("<td>", row.column ?? "-", close: "</td>")
                html.element("<td>", row.question ?? "", close: "</td>")
                html.markup("<td>")
                html.text(text.skipReasons[row.code] ?? row.message)
                if text.skipReasons[row.code] != nil { technical(&html, "[\(row.code)] \(row.message)") }
                html.markup("</td></tr>")
            }
            html.markup("</tbody></table>")
        }
        if !quarantined.isEmpty {
            html.element("<h3>", text.quarantineHeading, close: "</h3>")
            html.markup("<table id=\"quarantine\">")
            headings(&html, [text.row, text.question, text.since, text.reason])
            html.markup("<tbody>")
            for entry in quarantined {
                html.markup("<tr class=\"quarantined\">")
                html.element("<td class=\"number\">", entry.row.map(String.init) ?? "-", close: "</td>")
                html.element("<td>", entry.question ?? entry.templateID, close: "</td>")
                html.element("<td>", timestamp(entry.since), close: "</td>")
                html.element("<td>", entry.reason, close: "</td>")
                html.markup("</tr>")
            }
            html.markup("</tbody></table>")
        }
        html.markup("</section>")
    }

    private func trySection(_ html: inout HTML) {
        html.markup("<section id=\"try\">")
        html.element("<h2>", text.tryHeading, close: "</h2>")
        html.markup("<form method=\"get\" action=\"/\"><input type=\"hidden\" name=\"lang\" value=\"")
        html.text(text.code)
        html.markup("\"><label>")
        html.text(text.questionLabel)
        html.markup(" <input type=\"search\" name=\"q\" size=\"60\" maxlength=\"4096\" value=\"")
        html.text(search?.query ?? "")
        html.markup("\"></label> <label>")
        html.text(text.modeLabel)
        html.markup(" <select name=\"mode\">")
        for (index, mode) in SearchMode.allCases.enumerated() {
            html.markup("<option value=\"")
            html.text(mode.rawValue)
            html.markup(mode == (search?.mode ?? .hybrid) ? "\" selected>" : "\">")
            html.text(index < text.modes.count ? text.modes[index] : mode.rawValue)
            html.markup("</option>")
        }
        html.markup("</select></label> <button type=\"submit\">")
        html.text(text.ask)
        html.markup("</button></form>")
        if let search {
            html.markup("<div id=\"results\">")
            switch search.outcome {
            case .failure(let failure):
                html.element("<p class=\"problem\">", failure.message, close: "</p>")
            case .success(let results) where results.results.isEmpty:
                html.element("<p>", text.noResults, close: "</p>")
            case .success(let results):
                html.markup("<ol>")
                for hit in results.results {
                    html.markup("<li class=\"result\"><div class=\"meta\">")
                    html.element("<span class=\"category\">", hit.category, close: "</span>")
                    html.element(" › <span class=\"subcategory\">", hit.subcategory, close: "</span>")
                    // "How sure" where the score is one (meaning and words, meaning: 0 to 1); word
                    // search scores have no upper bound and say only the order, which the list shows.
                    if search.mode != .lexical, (0...1).contains(hit.score) {
                        html.element(" · <span class=\"score\" title=\"", String(format: "%.3f", hit.score), close: "\">")
                        html.text("\(text.score) \(Int((hit.score * 100).rounded()))%")
                        html.markup("</span>")
                    }
                    html.markup("</div>")
                    html.element("<div class=\"question\">", hit.question, close: "</div>")
                    html.element("<div class=\"answer\">", hit.answer, close: "</div>")
                    html.markup("<details class=\"technical\"><summary>")
                    html.text(text.operatorDetails)
                    html.markup("</summary><p>")
                    html.text("\(text.templateID) \(hit.id); score \(String(format: "%.3f", hit.score))")
                    if let dense = hit.dense { html.text(String(format: ", dense %.3f", dense)) }
                    if let lexical = hit.lexical { html.text(String(format: ", lexical %.2f", lexical)) }
                    html.markup("</p></details></li>")
                }
                html.markup("</ol>")
            }
            html.markup("</div>")
        }
        html.markup("</section>")
    }

    // MARK: Helpers

    func headings(_ html: inout HTML, _ names: [String]) {
        html.markup("<thead><tr>")
        for name in names { html.element("<th>", name, close: "</th>") }
        html.markup("</tr></thead>")
    }

    private func row(_ html: inout HTML, _ term: String, _ value: String, id: StaticString) {
        html.markup("<div><dt>")
        html.text(term)
        html.markup("</dt><dd id=\"")
        html.markup(id)
        html.markup("\">")
        html.text(value)
        html.markup("</dd></div>")
    }

    /// `2026-12-05 15:41:07 (Europe/Minsk)`: the server's local time, with its zone named.
    func timestamp(_ date: Date) -> String {
        Self.timestamp(date, in: timeZone)
    }

    static func timestamp(_ date: Date, in timeZone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let name = ["GMT", "UTC", "Etc/UTC", "Etc/GMT", "Universal", "Zulu"].contains(timeZone.identifier) ? "UTC" : timeZone.identifier
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
            + " (\(name))"
    }

    /// Inline, so the page needs nothing from elsewhere.
    static let style: StaticString = """
        body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
        main{max-width:1100px;margin:0 auto;padding:16px 20px}
        h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #d5d9e0}
        dl{display:flex;flex-wrap:wrap;gap:8px 28px;margin:0}dt{font-size:12px;color:#5a6272}dd{margin:0;font-weight:600}
        .ok{color:#17753a;font-weight:600}.problem{color:#b3261e;font-weight:600}
        pre.error{white-space:pre-wrap;background:#fff1f0;border:1px solid #f3c4c0;padding:8px;font-size:13px}
        table{border-collapse:collapse;width:100%;background:#fff;margin:8px 0}th,td{border:1px solid #e1e4ea;padding:4px 6px;text-align:left;vertical-align:top}
        th{background:#eef0f4;font-size:12px}.number{text-align:right}.hash{font-family:monospace}
        tbody.failed td{background:#fff6f5}details ul{margin:4px 0;padding-left:20px}
        .kind{display:inline-block;min-width:9em;font-size:12px;color:#5a6272}.kind.new{color:#17753a}.kind.deleted{color:#b3261e}
        small.code{display:block;color:#5a6272}
        .charts{display:flex;flex-wrap:wrap;gap:20px}figure{margin:0}figcaption{font-size:12px;color:#5a6272}
        svg .bar{fill:#3b6fd8}svg .bar.failed{fill:#b3261e}svg .baseline{stroke:#9aa1ad}svg .axis{font-size:10px;fill:#5a6272}
        form{display:flex;flex-wrap:wrap;gap:8px;align-items:center}input[type=search]{max-width:100%}
        li.result{background:#fff;border:1px solid #e1e4ea;padding:8px;margin:8px 0}.meta{font-size:12px;color:#5a6272}
        .question{font-weight:600;margin:4px 0}.answer{white-space:pre-wrap}.note{font-size:12px;color:#5a6272}
        .summary{font-size:17px;margin:6px 0}details.technical{font-size:12px;color:#5a6272;margin:4px 0}
        details.technical summary{cursor:pointer}details.technical dl{margin-top:6px}
        """
}
