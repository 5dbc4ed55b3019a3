import Foundation
import RetrievalServer
import SyncActivity
import Testing
import TestSupport

/// Issue "Hostile neighbours", items 9 and 10: the page's sign-in and what the page shows.
@Suite("hostile neighbours: the page's sign-in", .serialized)
struct PageSignInHardeningTests {
    static let token = "correct-horse-battery-staple-42"

    static func signIn(_ base: String, headers: [(String, String)] = []) async throws -> HTTPResult {
        try await HTTP.request(.POST, base + "/login", body: "token=\(token)", contentType: "application/x-www-form-urlencoded",
                               headers: headers, followRedirects: false)
    }

    @Test func aSessionExpiresOnTheServerAndSigningOutRevokesIt() async throws {
        let (server, directory) = try await TeamPageTests.server(TeamPageTests.hostileActivity(), access: .token(Self.token))
        defer { directory.remove() }
        let base = "http://127.0.0.1:\(server.port)"
        let signIn = try await Self.signIn(base)
        let cookie = try #require(signIn.headers["set-cookie"])
        #expect(cookie.contains("Max-Age=2592000") && !cookie.contains("Secure"), "\(cookie)")
        let session = String(cookie.prefix { $0 != ";" })
        #expect(try await HTTP.request(.GET, base + "/", headers: [("Cookie", session)]).status == 200)

        // A cookie signed with the token but issued 31 days ago, and the old constant one, are refused.
        let old = PageAccess.sessionValue(token: Self.token, issuedAt: Date().addingTimeInterval(-31 * 24 * 3600))
        #expect(try await HTTP.request(.GET, base + "/", headers: [("Cookie", "\(PageAccessCookie.name)=\(old)")]).status == 401)
        let recent = PageAccess.sessionValue(token: Self.token, issuedAt: Date().addingTimeInterval(-29 * 24 * 3600))
        #expect(try await HTTP.request(.GET, base + "/", headers: [("Cookie", "\(PageAccessCookie.name)=\(recent)")]).status == 200)
        let forgedFuture = PageAccess.sessionValue(token: "another-token-entirely-000", issuedAt: Date())
        #expect(try await HTTP.request(.GET, base + "/", headers: [("Cookie", "\(PageAccessCookie.name)=\(forgedFuture)")]).status == 401)

        // The page offers to sign out; signing out clears the cookie and this server forgets it.
        #expect(try await HTTP.request(.GET, base + "/", headers: [("Cookie", session)]).body.contains("href=\"/logout\""))
        let out = try await HTTP.request(.GET, base + "/logout", headers: [("Cookie", session)], followRedirects: false)
        #expect(out.status == 303 && out.headers["set-cookie"]?.contains("Max-Age=0") == true, "\(out.headers)")
        #expect(try await HTTP.request(.GET, base + "/", headers: [("Cookie", session)]).status == 401, "a copied cookie no longer works")

        // Behind a TLS proxy that says so, the cookie is Secure.
        let proxied = try await Self.signIn(base, headers: [("X-Forwarded-Proto", "https")])
        #expect(proxied.headers["set-cookie"]?.contains("; Secure") == true)
        await server.stop()
    }

    @Test func crossSiteSignInsAreRefusedAndFailuresThrottled() async throws {
        let (server, directory) = try await TeamPageTests.server(TeamPageTests.hostileActivity(), access: .token(Self.token))
        defer { directory.remove() }
        let base = "http://127.0.0.1:\(server.port)"
        let crossOrigin = try await Self.signIn(base, headers: [("Origin", "http://evil.example")])
        #expect(crossOrigin.status == 403 && crossOrigin.headers["set-cookie"] == nil)
        #expect(try await Self.signIn(base, headers: [("Sec-Fetch-Site", "cross-site")]).status == 403)
        #expect(try await Self.signIn(base, headers: [("Origin", base), ("Sec-Fetch-Site", "same-origin")]).status == 303)

        var statuses: [Int] = []
        for _ in 0..<25 {
            let wrong = try await HTTP.request(.POST, base + "/login", body: "token=wrong", contentType: "application/x-www-form-urlencoded",
                                               followRedirects: false)
            statuses.append(wrong.status)
            if wrong.status == 429 { #expect(Int(wrong.headers["retry-after"] ?? "") ?? 0 > 0) }
        }
        #expect(statuses.prefix(20).allSatisfy { $0 == 401 } && statuses.suffix(5).allSatisfy { $0 == 429 }, "\(statuses)")

        // /v1/syncs with a bearer token is never cached.
        let syncs = try await HTTP.request(.GET, base + "/v1/syncs", headers: [("Authorization", "Bearer \(Self.token)")])
        #expect(syncs.status == 200 && syncs.headers["cache-control"] == "no-store")
        // HEAD /healthz answers like GET, without a body.
        let head = try await HTTP.request(.HEAD, base + "/healthz")
        #expect(head.status == 200 && head.body.isEmpty)
        await server.stop()
    }

    @Test func bidirectionalOverridesAreNeutralisedInShownText() {
        let escaped = HTML.escape("Вопрос \u{202E}тсет\u{202C} и \u{2066}x\u{2069}")
        for scalar in ["\u{202A}", "\u{202B}", "\u{202C}", "\u{202D}", "\u{202E}", "\u{2066}", "\u{2067}", "\u{2068}", "\u{2069}"] {
            #expect(!escaped.contains(scalar))
        }
        #expect(escaped.contains("Вопрос"))
    }

    /// Under umask 000 a directory faqsync creates for the snapshot was world-writable.
    @Test func theSnapshotsDirectoryIsNotWorldWritableWhateverTheUmask() throws {
        let directory = try TemporaryDirectory("umask-dirs")
        defer { directory.remove() }
        let snapshot = directory.path("run/faqsync/faq.snapshot")
        let shell = "umask 000; EMBEDDING_PROVIDER=local exec \"$0\" sync --faq \"$1\" --db \"$2\" --snapshot \"$3\""
        let result = try CLIProcess.runTool("/bin/sh", ["-c", shell, CLIProcess.binary.path, Fixtures.sampleFAQ.path, directory.path("faq.db"), snapshot])
        #expect(result.status == 0, "\(result.stderr)")
        for created in ["run", "run/faqsync"] {
            let mode = try FileManager.default.attributesOfItem(atPath: directory.path(created))[.posixPermissions] as? Int
            #expect(mode == 0o755, "\(created): \(String(mode ?? 0, radix: 8))")
        }
    }
}
