import Foundation
import RetrievalServer
import Testing
import TestSupport

@Suite("the HTTP retrieval API")
struct RetrievalAPITests {
    @Test func healthIs503UntilASnapshotIsLoadedThen200() async throws {
        let directory = try TemporaryDirectory("api-health")
        defer { directory.remove() }
        let path = directory.path("faqsync.snapshot")
        let server = try await InProcessServer(snapshotPath: path)
        let base = "http://127.0.0.1:\(server.port)"

        let before = try await HTTP.request(.GET, "\(base)/healthz")
        #expect(before.status == 503)
        #expect(try before.json()["status"] as? String == "no snapshot")
        let search = try await HTTP.request(.POST, "\(base)/v1/search", body: #"{"query":"вклад"}"#)
        #expect(search.status == 503)

        try LocalModelSnapshots.publish(to: path, generation: 7)
        #expect(server.live.reloadIfChanged() == .switched(from: nil, to: 7))
        let after = try await HTTP.request(.GET, "\(base)/healthz")
        #expect(after.status == 200)
        let json = try after.json()
        #expect(json["generation"] as? Int == 7)
        #expect(json["templates"] as? Int == 40)
        #expect((json["model"] as? String)?.contains("faqsync-local-hash") == true)
        #expect(after.headers["x-snapshot-generation"] == "7")
        await server.stop()
    }

    @Test func searchTemplatesAndMetrics() async throws {
        let directory = try TemporaryDirectory("api-search")
        defer { directory.remove() }
        let path = directory.path("faqsync.snapshot")
        try LocalModelSnapshots.publish(to: path, generation: 3)
        let server = try await InProcessServer(snapshotPath: path)
        let base = "http://127.0.0.1:\(server.port)"

        let result = try await HTTP.request(.POST, "\(base)/v1/search", body: #"{"query":"Вопрос 5 про карту","k":3}"#)
        #expect(result.status == 200)
        #expect(result.headers["x-snapshot-generation"] == "3")
        let json = try result.json()
        #expect(json["generation"] as? Int == 3)
        let hits = try #require(json["results"] as? [[String: Any]])
        #expect(hits.count == 3)
        #expect(hits.first?["id"] as? String == "t5", "the exact question ranks first")
        for key in ["id", "score", "category", "subcategory", "question", "answer"] { #expect(hits[0][key] != nil) }

        let filtered = try await HTTP.request(.POST, "\(base)/v1/search", body: #"{"query":"вклад","k":5,"category":"Карты","subcategory":"s1"}"#)
        let filteredHits = try #require(try filtered.json()["results"] as? [[String: Any]])
        #expect(!filteredHits.isEmpty)
        #expect(filteredHits.allSatisfy { $0["category"] as? String == "Карты" && $0["subcategory"] as? String == "s1" })

        let template = try await HTTP.request(.GET, "\(base)/v1/templates/t5")
        #expect(template.status == 200)
        #expect((try template.json()["template"] as? [String: Any])?["question"] as? String == "Вопрос 5 про карту")
        let missing = try await HTTP.request(.GET, "\(base)/v1/templates/nope")
        #expect(missing.status == 404)
        #expect((try missing.json()["error"] as? [String: Any])?["reason"] as? String == "no template with id 'nope' in generation 3")

        let metrics = try await HTTP.request(.GET, "\(base)/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.body.contains(#"faqsync_queries_total{outcome="ok"} 2"#))
        #expect(metrics.body.contains("faqsync_snapshot_generation 3"))
        #expect(metrics.body.contains("faqsync_query_duration_seconds_count 2"))
        #expect(metrics.body.contains("faqsync_snapshot_age_seconds"))
        #expect(metrics.body.contains("faqsync_snapshot_reloads_total 0"))
        await server.stop()
    }

    /// `mode` picks hybrid (the default), dense or lexical; every hit carries its score and both
    /// components; an unknown mode is a 400.
    @Test func searchModesCarryTheirComponents() async throws {
        let directory = try TemporaryDirectory("api-modes")
        defer { directory.remove() }
        let path = directory.path("faqsync.snapshot")
        try LocalModelSnapshots.publish(to: path, generation: 4)
        let server = try await InProcessServer(snapshotPath: path)
        let base = "http://127.0.0.1:\(server.port)"
        for mode in ["hybrid", "dense", "lexical", nil] {
            let body = mode.map { #"{"query":"Вопрос 5 про карту","k":3,"mode":"\#($0)"}"# } ?? #"{"query":"Вопрос 5 про карту","k":3}"#
            let result = try await HTTP.request(.POST, "\(base)/v1/search", body: body)
            #expect(result.status == 200, "\(mode ?? "default"): \(result.body)")
            let hits = try #require(try result.json()["results"] as? [[String: Any]])
            #expect(hits.first?["id"] as? String == "t5", "\(mode ?? "default")")
            let first = try #require(hits.first)
            #expect(first["lexical"] as? Double != nil, "\(mode ?? "default"): \(first)")
            if mode != "lexical" { #expect(first["dense"] as? Double != nil) }
            if mode == "dense" { #expect(first["score"] as? Double == first["dense"] as? Double) }
            if mode == "lexical" { #expect(first["score"] as? Double == first["lexical"] as? Double) }
        }
        let bad = try await HTTP.request(.POST, "\(base)/v1/search", body: #"{"query":"вклад","mode":"fuzzy"}"#)
        #expect(bad.status == 400)
        #expect((try bad.json()["error"] as? [String: Any])?["reason"] as? String != nil)
        await server.stop()
    }

    @Test func badRequestsGetJSONReasons() async throws {
        let directory = try TemporaryDirectory("api-bad")
        defer { directory.remove() }
        let path = directory.path("faqsync.snapshot")
        try LocalModelSnapshots.publish(to: path, generation: 1)
        var limits = RetrievalService.Limits()
        limits.maxBodyBytes = 1024
        let server = try await InProcessServer(snapshotPath: path, limits: limits)
        let url = "http://127.0.0.1:\(server.port)/v1/search"

        let cases: [(body: String, status: Int, reason: String)] = [
            ("not json", 400, "it is not valid JSON"),
            (#"{"k": 3}"#, 400, "the field 'query' is missing"),
            (#"{"query": 42}"#, 400, "the field 'query' has the wrong type"),
            (#"{"query": "вклад", "k": 0}"#, 400, "k must be between 1 and 100, not 0"),
            (#"{"query": "вклад", "k": 101}"#, 400, "k must be between 1 and 100, not 101"),
            (#"{"query": "   "}"#, 400, "the query is empty"),
            ("{\"query\": \"\(String(repeating: "a", count: 2000))\"}", 413, "larger than 1024 bytes"),
        ]
        for item in cases {
            let response = try await HTTP.request(.POST, url, body: item.body)
            #expect(response.status == item.status, "\(item.body.prefix(40))")
            let reason = (try response.json()["error"] as? [String: Any])?["reason"] as? String ?? ""
            #expect(reason.contains(item.reason), "\(item.body.prefix(40)): \(reason)")
            #expect(response.headers["x-snapshot-generation"] == "1")
        }
        await server.stop()
    }
}
