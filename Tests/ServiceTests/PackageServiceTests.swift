import Foundation
import Testing
import TestSupport

/// The Debian package under a real systemd 252, following docs/operating.md's "Run as a service" word for
/// word: install, enable, save, reload, crash, restart, stop, remove, purge. Each step prints what
/// it saw (the transcript the issue's closing note quotes).
@Suite("the package under a real systemd", .serialized)
struct PackageServiceTests {
    static let skipReason = SystemdSandbox.unavailableReason

    /// The package: FAQSYNC_DEB (scripts/test.sh builds it first), or built here.
    static func package() throws -> String {
        if let path = ProcessInfo.processInfo.environment["FAQSYNC_DEB"], FileManager.default.fileExists(atPath: path) { return path }
        let built = try SystemdSandbox.tool([Fixtures.projectRoot.appendingPathComponent("scripts/build-deb.sh").path], deadline: .seconds(3_600))
        guard built.status == 0, let path = built.stdout.split(separator: "\n").last.map(String.init) else {
            throw SystemdSandbox.SandboxFailure(message: "scripts/build-deb.sh failed: \(built.stderr.suffix(2_000))")
        }
        return path
    }

    func say(_ line: String) { print("[systemd] \(line)") }

    /// `curl` inside the sandbox's network namespace (the API listens on its loopback).
    func api(_ sandbox: SystemdSandbox, _ path: String, body: String? = nil) throws -> (status: Int32, json: [String: Any]?) {
        var arguments = ["curl", "-sf", "--max-time", "10", "http://127.0.0.1:8088\(path)"]
        if let body { arguments += ["-H", "Content-Type: application/json", "-d", body] }
        let result = try sandbox.run(arguments)
        let json = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return (result.status, json)
    }

    func health(_ sandbox: SystemdSandbox) throws -> (generation: Int, templates: Int)? {
        guard let json = try api(sandbox, "/healthz").json, let generation = json["generation"] as? Int,
              let templates = json["templates"] as? Int else { return nil }
        return (generation, templates)
    }

    /// Journal lines of a unit since the sandbox booted, with their priorities.
    func journal(_ sandbox: SystemdSandbox, _ unit: String) throws -> [(priority: Int, message: String)] {
        let output = try sandbox.run(["journalctl", "-u", unit, "-o", "json", "--no-pager"]).stdout
        return output.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let priority = (object["PRIORITY"] as? String).flatMap(Int.init) else { return nil }
            return (priority, (object["MESSAGE"] as? String) ?? "")
        }
    }

    @Test(.enabled(if: skipReason == nil, Comment(rawValue: skipReason ?? "")))
    func thePackageInstallsRunsAndRemovesLikeTheREADMESays() async throws {
        let deb = try Self.package()
        let sandbox = try SystemdSandbox()
        defer { sandbox.stop() }
        say("booted systemd \(try sandbox.run(["systemctl", "--version"]).stdout.split(separator: "\n").first ?? "") as PID 1 of a sandbox (host PID \(sandbox.pid))")

        // 1. Install: users, directories, units; nothing enabled or started.
        try FileManager.default.copyItem(atPath: deb, toPath: sandbox.hostPath("/tmp/faqsync.deb"))
        let install = try sandbox.run(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "/tmp/faqsync.deb"])
        #expect(install.status == 0, "\(install.stdout.suffix(1_500)) \(install.stderr.suffix(1_500))")
        say("apt-get install ./\((deb as NSString).lastPathComponent): exit \(install.status)")
        #expect(try sandbox.run(["id", "faqsync"]).status == 0)
        #expect(try sandbox.run(["id", "-gn", "faqsync-serve"]).stdout.contains("faqsync"))
        let runtime = try sandbox.shell("stat -c '%a %U:%G' /run/faqsync").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(runtime == "750 faqsync:faqsync")
        let enabled = try sandbox.systemctl("is-enabled", "faqsync.service", "faqsync-serve.socket").stdout
        #expect(!enabled.contains("enabled"), "installing enables nothing: \(enabled)")
        #expect(try sandbox.systemctl("is-active", "faqsync.service").stdout.hasPrefix("inactive"))
        say("users faqsync and faqsync-serve created, /run/faqsync \(runtime), units \(enabled.split(separator: "\n").joined(separator: "/")), nothing started")

        // 2. Enable as docs/operating.md says; the daemon reaches active (running) with its STATUS= line.
        let enable = try sandbox.systemctl("enable", "--now", "faqsync.service", "faqsync-serve.socket")
        #expect(enable.status == 0, "\(enable.stderr)")
        #expect(try await sandbox.waitFor { try sandbox.property("faqsync.service", "SubState") == "running" })
        let status = try sandbox.property("faqsync.service", "StatusText")
        #expect(status.contains("30 templates"), "\(status)")
        say("systemctl enable --now: faqsync.service active (running), Status: \"\(status)\"")
        #expect(try sandbox.systemctl("is-active", "faqsync-serve.service").stdout.hasPrefix("inactive"), "the API waits for its first connection")

        // 3. The API, started by its socket on the first connection, answers from the daemon's snapshot.
        let search = try api(sandbox, "/v1/search", body: #"{"query": "Как открыть вклад?", "k": 3}"#)
        #expect(search.status == 0)
        let results = search.json?["results"] as? [[String: Any]] ?? []
        #expect(results.count == 3)
        let firstGeneration = search.json?["generation"] as? Int ?? -1
        #expect(try sandbox.property("faqsync-serve.service", "SubState") == "running")
        say("first connection to 127.0.0.1:8088 started faqsync-serve; /v1/search answered \(results.count) results from generation \(firstGeneration): \(results.first?["question"] ?? "-")")

        // 4. Nothing noisy at start: no warnings or errors from either unit. libdispatch renices its
        //    worker threads to nice -2/-4 for higher QoS classes; LimitNICE=-4 allows that, but only
        //    where systemd may raise the limit (CAP_SYS_RESOURCE, which a normal PID 1 has and this
        //    build machine withholds from its processes). Where it could not, the only lines allowed
        //    are libdispatch's own.
        let startLines = try journal(sandbox, "faqsync.service") + journal(sandbox, "faqsync-serve.service")
        let priorityLines = startLines.filter { $0.message.contains("Failed to set thread priority") }
        let noisy = startLines.filter { $0.priority <= 4 }
        #expect(noisy.isEmpty, "\(noisy)")
        let mainPID = try sandbox.property("faqsync.service", "MainPID")
        let niceLimit = try sandbox.shell("awk '/Max nice priority/ {print $4}' /proc/\(mainPID)/limits").stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if niceLimit == "24" {
            #expect(priorityLines.isEmpty, "\(priorityLines)")
        } else {
            #expect(priorityLines.allSatisfy { $0.message.contains("errno=13") }, "\(priorityLines)")
        }
        say("journal at start: \(startLines.count) lines, \(noisy.count) at warning or worse; RLIMIT_NICE \(niceLimit) (LimitNICE=-4 gives 24), \(priorityLines.count) libdispatch thread-priority notices")

        // 5. Point it at a real spreadsheet; a save is synced and the API answers from the new generation.
        try FileManager.default.createDirectory(atPath: sandbox.hostPath("/srv/faq"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.sampleFAQ.path, toPath: sandbox.hostPath("/srv/faq/faq.xlsx"))
        #expect(try sandbox.shell("sed -i 's|^FAQ_PATH=.*|FAQ_PATH=/srv/faq/faq.xlsx|' /etc/faqsync/faqsync.env && systemctl restart faqsync").status == 0)
        #expect(try await sandbox.waitFor { try sandbox.property("faqsync.service", "SubState") == "running" })
        let before = try health(sandbox)
        let incoming = sandbox.hostPath("/srv/faq/.faq.xlsx.tmp")
        try FileManager.default.copyItem(atPath: Fixtures.faq.path, toPath: incoming)
        #expect(rename(incoming, sandbox.hostPath("/srv/faq/faq.xlsx")) == 0)
        let synced = try await sandbox.waitFor { (try health(sandbox)?.templates) == 201 }
        let after = try health(sandbox)
        #expect(synced, "the API answers from the saved spreadsheet")
        #expect((after?.generation ?? 0) > (before?.generation ?? 0))
        say("saved /srv/faq/faq.xlsx (201 templates): API generation \(before?.generation ?? -1) → \(after?.generation ?? -1), templates \(after?.templates ?? -1); Status: \"\(try sandbox.property("faqsync.service", "StatusText"))\"")

        // 5b. The FAQ team's page: faqsync-serve (another user) reads what faqsync published.
        let page = try sandbox.run(["curl", "-sf", "--max-time", "10", "-H", "Accept-Language: ru", "http://127.0.0.1:8088/"])
        #expect(page.status == 0)
        #expect(page.stdout.contains("<html lang=\"ru\">"))
        #expect(page.stdout.contains("<dd id=\"templates\">201</dd>"))
        #expect(page.stdout.contains("<span class=\"ok\">применено</span>"), "the daemon's activity document was readable by faqsync-serve")
        let syncs = try api(sandbox, "/v1/syncs")
        #expect((syncs.json?["recent_syncs"] as? [[String: Any]])?.first?["templates"] as? Int == 201)
        let activityMode = try sandbox.shell("stat -c '%a %U:%G' /run/faqsync/faqsync.snapshot.activity.json").stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(activityMode == "640 faqsync:faqsync")
        say("GET / from faqsync-serve: the Russian page, 201 templates, last sync succeeded; activity document \(activityMode)")

        // 6. systemctl reload syncs (SIGHUP).
        let reload = try sandbox.systemctl("reload", "faqsync.service")
        #expect(reload.status == 0)
        #expect(try await sandbox.waitFor { try journal(sandbox, "faqsync.service").contains { $0.message.contains("SIGHUP") } })
        #expect(try await sandbox.waitFor { try sandbox.property("faqsync.service", "SubState") == "running" })
        say("systemctl reload faqsync: journal \"\(try journal(sandbox, "faqsync.service").last { $0.message.contains("SIGHUP") }?.message ?? "-")\"")

        // 7. A bad save: DEGRADED in Status, an error in the journal, the API keeps its generation.
        let good = try health(sandbox)
        let hostile = try #require(HostileSpreadsheet.all.first { $0.name == "column-of-many-letters" })
        // The good file that follows is the content synced before: restoring it clears DEGRADED
        // without a sync (the store already holds it).
        try hostile.write(to: URL(fileURLWithPath: incoming))
        #expect(rename(incoming, sandbox.hostPath("/srv/faq/faq.xlsx")) == 0)
        #expect(try await sandbox.waitFor { try sandbox.property("faqsync.service", "StatusText").contains("DEGRADED") })
        let degraded = try sandbox.property("faqsync.service", "StatusText")
        #expect(try health(sandbox)?.generation == good?.generation)
        #expect(try await sandbox.waitFor { ((try api(sandbox, "/v1/syncs").json?["last_attempt"] as? [String: Any])?["succeeded"] as? Bool) == false },
                "the page says the last sync failed")
        try FileManager.default.copyItem(atPath: Fixtures.faq.path, toPath: incoming)
        #expect(rename(incoming, sandbox.hostPath("/srv/faq/faq.xlsx")) == 0)
        #expect(try await sandbox.waitFor { !(try sandbox.property("faqsync.service", "StatusText").contains("DEGRADED")) })
        #expect(try await sandbox.waitFor { ((try api(sandbox, "/v1/syncs").json?["last_attempt"] as? [String: Any])?["succeeded"] as? Bool) == true },
                "and that all is well again once the good content is back")
        say("a hostile save: Status \"…\(degraded.range(of: "DEGRADED").map { degraded[$0.lowerBound...].prefix(140) } ?? "")…\", API still generation \(good?.generation ?? -1); the next good save cleared it")

        // 8. SIGKILL of the main process: systemd restarts it and the store is kept.
        let killedPID = try sandbox.property("faqsync.service", "MainPID")
        #expect(try sandbox.systemctl("kill", "--signal=KILL", "--kill-whom=main", "faqsync.service").status == 0)
        #expect(try await sandbox.waitFor(.seconds(30)) {
            try sandbox.property("faqsync.service", "NRestarts") == "1" && sandbox.property("faqsync.service", "SubState") == "running"
        })
        let store = try sandbox.run(["faqsync", "status", "--db", "/var/lib/faqsync/faqsync.db", "--snapshot", "/run/faqsync/faqsync.snapshot", "--json"])
        let storeJSON = try? JSONSerialization.jsonObject(with: Data(store.stdout.utf8)) as? [String: Any]
        let current = storeJSON?["current_version"] as? [String: Any]
        #expect(current?["templates"] as? Int == 201, "\(store.stdout) \(store.stderr)")
        say("SIGKILL to PID \(killedPID): restarted (NRestarts=1, new PID \(try sandbox.property("faqsync.service", "MainPID"))), store still holds \(current?["templates"] ?? "-") templates")

        // 9. The API survives the daemon's restart.
        let servePID = try sandbox.property("faqsync-serve.service", "MainPID")
        #expect(try sandbox.systemctl("restart", "faqsync.service").status == 0)
        #expect(try sandbox.property("faqsync-serve.service", "MainPID") == servePID)
        #expect(try health(sandbox)?.templates == 201)
        say("systemctl restart faqsync: faqsync-serve kept PID \(servePID) and kept answering")

        // 10. Restarting the API loses no queued connection: the socket is systemd's.
        let load = Task.detached { () -> CLIProcess.Result in
            try sandbox.shell("fails=0; for i in $(seq 1 400); do curl -sSf --max-time 10 -o /dev/null http://127.0.0.1:8088/healthz 2>> /tmp/load-errors || fails=$((fails+1)); echo $i >> /tmp/load-progress; done; echo $fails")
        }
        // Restart once the requests are flowing.
        let flowing = try await sandbox.waitFor {
            ((try? String(contentsOfFile: sandbox.hostPath("/tmp/load-progress"), encoding: .utf8)) ?? "").split(separator: "\n").count >= 50
        }
        #expect(flowing, "requests are flowing")
        let restart = try sandbox.systemctl("restart", "faqsync-serve.service")
        #expect(restart.status == 0)
        let failures = try await load.value.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let errors = ((try? String(contentsOfFile: sandbox.hostPath("/tmp/load-errors"), encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // Measured 0 in 15 of 16 runs and 1 of 400 in one (a reset caught in the instant the old
        // process stops; see docs/operating.md "Run as a service"): more is a regression.
        #expect((Int(failures) ?? 400) <= 1, "requests lost across the restart: \(failures): \(errors)")
        #expect(try sandbox.property("faqsync-serve.service", "MainPID") != servePID)
        say("400 requests while systemctl restart faqsync-serve: \(failures) failed\(errors.isEmpty ? "" : " (\(errors.replacingOccurrences(of: "\n", with: "; ")))"); new API PID \(try sandbox.property("faqsync-serve.service", "MainPID"))")

        // 11. The journal carries priorities.
        let priorities = Set(try journal(sandbox, "faqsync.service").map(\.priority))
        #expect(priorities.contains(6) && priorities.contains(3), "\(priorities.sorted())")
        say("journalctl -u faqsync priorities seen: \(priorities.sorted())")

        // 12. A clean stop.
        #expect(try sandbox.systemctl("stop", "faqsync.service").status == 0)
        let result = try sandbox.property("faqsync.service", "Result")
        let exit = try sandbox.property("faqsync.service", "ExecMainStatus")
        #expect(result == "success" && exit == "0", "Result=\(result) ExecMainStatus=\(exit)")
        say("systemctl stop faqsync: Result=\(result), exit status \(exit)")

        // 13. Removal keeps the store and the configuration; purge removes them.
        let remove = try sandbox.run(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "remove", "-y", "-q", "faqsync"])
        #expect(remove.status == 0, "\(remove.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.hostPath("/usr/bin/faqsync")))
        #expect(FileManager.default.fileExists(atPath: sandbox.hostPath("/var/lib/faqsync/faqsync.db")), "removal keeps the store")
        #expect(FileManager.default.fileExists(atPath: sandbox.hostPath("/etc/faqsync/faqsync.env")), "removal keeps the configuration")
        let running = try sandbox.shell("pgrep -a -x faqsync")
        #expect(running.status != 0, "nothing of it runs: \(running.stdout)")
        say("apt-get remove: binary and units gone, no faqsync process, /var/lib/faqsync/faqsync.db and /etc/faqsync/faqsync.env kept")
        let purge = try sandbox.run(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "purge", "-y", "-q", "faqsync"])
        #expect(purge.status == 0, "\(purge.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.hostPath("/var/lib/faqsync")))
        #expect(!FileManager.default.fileExists(atPath: sandbox.hostPath("/etc/faqsync")))
        say("apt-get purge: /var/lib/faqsync and /etc/faqsync removed")
    }
}
