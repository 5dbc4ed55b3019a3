import Foundation
import Redaction
import SyncActivity
import Testing
import TestSupport

/// Issue "Hostile neighbours", items 7 and 8: credentials that reached stderr, the activity
/// document, the page and `/v1/syncs`.
@Suite("hostile neighbours: secrets", .serialized)
struct SecretRedactionTests {
    @Test(arguments: [
        ("postgres://faq:pa#ss@127.0.0.1:1/faq", "pa#ss"),
        ("postgres://faq:p/a?ss@db/faq", "p/a?ss"),
        ("cannot reach postgress://admin:TopSecret42@db/x today", "TopSecret42"),
        ("host='db' password='s3cr3t value' user='x'", "s3cr3t value"),
        ("Authorization: Bearer abcdefghijklmnop", "abcdefghijklmnop"),
        (#"{"api_key": "zz-111-222-333"}"#, "zz-111-222-333"),
        ("key sk-proj-ABCDEFGHIJKLMNOP rejected", "ABCDEFGHIJKLMNOP"),
        ("https://user:hunter22@proxy.example/v1", "hunter22"),
    ])
    func credentialsAreMaskedWhateverTheirShape(text: String, secret: String) {
        let redacted = Redaction.redact(text)
        #expect(!redacted.contains(secret), "\(redacted)")
        #expect(redacted.contains(Redaction.mask))
    }

    @Test func knownSecretsAreMaskedVerbatimAndLongTextIsBounded() {
        #expect(Redaction.redact("the key k3y-Of-The-Team-77421 is wrong", secrets: ["k3y-Of-The-Team-77421"]) == "the key *** is wrong")
        #expect(Redaction.redact("an ordinary sentence about http://example.com/path") == "an ordinary sentence about http://example.com/path")
        #expect(Redaction.bounded(String(repeating: "x", count: 10_000), limit: 500).count == 501)
    }

    /// A provider (or a proxy before it) echoes the request's key in its 401: nothing the sync
    /// writes or prints carries it.
    @Test func aProviderThatEchoesTheKeyDoesNotPublishIt() async throws {
        var behaviour = FakeEmbeddingServer.Behaviour()
        behaviour.echoAuthorization = true
        let server = try await FakeEmbeddingServer(dimension: 64, behaviour: behaviour)
        let directory = try TemporaryDirectory("secret-echo")
        defer { directory.remove() }
        let key = "k3y-Of-The-Team-77421"
        let snapshot = directory.path("faq.snapshot")
        // A store and a snapshot first (the local model), so the failed switch has a page to report on.
        let files = ["--faq", Fixtures.sampleFAQ.path, "--db", directory.path("faq.db"), "--snapshot", snapshot]
        #expect(try CLIProcess.run(["sync"] + files, environment: ["EMBEDDING_PROVIDER": "local"]).status == 0)
        let sync = try CLIProcess.run(["sync", "--yes"] + files,
                                      environment: ["EMBEDDING_PROVIDER": "openai", "EMBEDDING_MODEL": "bge-m3", "EMBEDDING_DIMENSIONS": "64",
                                                    "EMBEDDING_BASE_URL": "http://proxyuser:ProxyPass99@127.0.0.1:\(server.port)/v1",
                                                    "EMBEDDING_API_KEY": key])
        await server.stop()
        #expect(sync.status != 0)
        #expect(sync.stderr.contains("HTTP 401"), "\(sync.stderr)")
        let document = (try? String(contentsOfFile: SyncActivityFile(besideSnapshot: snapshot).path, encoding: .utf8)) ?? ""
        #expect(!document.isEmpty, "the failed sync is in the activity document")
        let status = try CLIProcess.run(["status", "--json", "--db", directory.path("faq.db"), "--snapshot", snapshot])
        for (place, text) in [("stderr", sync.stderr), ("stdout", sync.stdout), ("activity document", document), ("status --json", status.stdout)] {
            #expect(!text.contains(key), "the key reached \(place): \(text.prefix(600))")
            #expect(!text.contains("ProxyPass99"), "the base URL's password reached \(place)")
        }
    }

    @Test func databaseURLsWithPasswordsAreNeverPrinted() throws {
        let directory = try TemporaryDirectory("secret-url")
        defer { directory.remove() }
        let broken = try CLIProcess.run(["status", "--store", "postgres"], environment: ["DATABASE_URL": "postgres://faq:pa#ss@127.0.0.1:1/faq"])
        #expect(broken.status != 0)
        #expect(!broken.stderr.contains("pa#ss") && !broken.stderr.contains("#ss"), "\(broken.stderr)")
        #expect(broken.stderr.contains("percent-encode"), "\(broken.stderr)")
        let typo = try CLIProcess.run(["store", "copy", "--from", "sqlite:\(directory.path("a.db"))", "--to", "postgress://admin:TopSecret42@db/x"])
        #expect(typo.status != 0)
        #expect(!typo.stderr.contains("TopSecret42"), "\(typo.stderr)")
        // A password on the command line is warned about; one from POSTGRES_PASSWORD_FILE is taken.
        let inline = try CLIProcess.run(["store", "copy", "--from", "sqlite:\(directory.path("a.db"))", "--to", "postgres://admin:pw1234@127.0.0.1:1/x"])
        #expect(inline.stderr.contains("visible to every user"), "\(inline.stderr)")
        #expect(!inline.stderr.contains("pw1234"), "\(inline.stderr)")
    }
}
