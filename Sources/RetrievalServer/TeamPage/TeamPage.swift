import Foundation
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
        html.markup("<dl>")
        row(&html, text.generation, "\(snapshot.generation)", id: "generation")
        let published = Date(timeIntervalSince1970: Double(snapshot.createdMillis) / 1000)
        row(&html, text.published, "\(Self.timestamp(published)) (\(text.ago(max(0, now.timeIntervalSince(published)))))", id: "published")
        row(&html, text.model, "\(snapshot.modelName) \(snapshot.modelVersion) (\(snapshot.dimension))", id: "model")
        row(&html, text.templates, "\(snapshot.count)", id: "templates")
        html.markup("</dl>")
        lastSync(&html)
        html.markup("</section>")
    }

    private func lastSync(_ html: inout HTML) {
        html.markup("<p id=\"last-sync\">")
        html.element("<b>", text.lastSync + ": ", close: "</b>")
        if let activityProblem {
            html.element("<span class=\"problem\">", "\(text.activityProblem): \(activityProblem)", close: "</span>")
        } else if let attempt = activity?.lastAttempt ?? activity?.recentSyncs.first.map({
            SyncActivity.Attempt(finishedAt: $0.finishedAt, succeeded: $0.outcome == .succeeded, error: $0.error)
        }) {
            html.element(attempt.succeeded ? "<span class=\"ok\">" : "<span class=\"problem\">",
                         attempt.succeeded ? text.succeeded : text.failed, close: "</span>")
            html.text(" " + Self.timestamp(attempt.finishedAt) + " (" + text.ago(max(0, now.timeIntervalSince(attempt.finishedAt))) + ")")
            if let error = attempt.error, !attempt.succeeded {
                html.element("<pre class=\"error\">", error, close: "</pre>")
            }
        } else {
            html.text(text.noActivity)
        }
        html.markup("</p>")
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
            html.element("<td>", Self.timestamp(run.finishedAt), close: "</td>")
            html.element("<td class=\"hash\">", run.sourceSHA256.map { String($0.prefix(12)) } ?? "-", close: "</td>")
            for count in [run.new, run.modified, run.metadataOnly, run.deleted, run.skippedRows.count, run.quarantined, run.embeddedTexts, run.cacheHits] {
                html.element("<td class=\"number\">", "\(count)", close: "</td>")
            }
            html.element("<td class=\"number\">", String(format: "%.2f s", max(0, run.finishedAt.timeIntervalSince(run.startedAt))), close: "</td>")
            html.markup("</tr>")
            if let error = run.error, run.outcome == .failed {
                html.markup("<tr><td colspan=\"11\"><pre class=\"error\">")
                html.text(error)
                html.markup("</pre></td></tr>")
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
        if skipped.isEmpty && quarantined.isEmpty {
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
                html.element(" <small class=\"code\">", "[\(row.code)] \(row.message)", close: "</small>")
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
                html.element("<td>", Self.timestamp(entry.since), close: "</td>")
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
                    html.element("<span class=\"score\">", "\(text.score) " + String(format: "%.3f", hit.score), close: "</span>")
                    html.element(" · <span class=\"category\">", hit.category, close: "</span>")
                    html.element(" › <span class=\"subcategory\">", hit.subcategory, close: "</span>")
                    html.element(" · <span class=\"template-id\">", hit.id, close: "</span>")
                    html.markup("</div>")
                    html.element("<div class=\"question\">", hit.question, close: "</div>")
                    html.element("<div class=\"answer\">", hit.answer, close: "</div>")
                    html.markup("</li>")
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

    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(dateSeparator: .dash, dateTimeSeparator: .space, timeZone: .gmt)) .replacingOccurrences(of: "Z", with: " UTC")
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
        """
}
