import Foundation
import Metrics
import Prometheus
import SnapshotReader

/// The retrieval server's metrics, on a registry of its own rather than a process-global one.
package struct RetrievalMetrics: Sendable {
    package let registry: PrometheusCollectorRegistry
    let queries: Metrics.Counter
    let failedQueries: Metrics.Counter
    let latency: Metrics.Timer
    let generation: Metrics.Gauge
    let age: Metrics.Gauge
    let reloads: Metrics.Counter
    let failedReloads: Metrics.Counter
    private let seenReloads = LockedCounts()

    package init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
        ]
        queries = Metrics.Counter(label: "faqsync_queries_total", dimensions: [("outcome", "ok")], factory: factory)
        failedQueries = Metrics.Counter(label: "faqsync_queries_total", dimensions: [("outcome", "error")], factory: factory)
        latency = Metrics.Timer(label: "faqsync_query_duration_seconds", factory: factory)
        generation = Metrics.Gauge(label: "faqsync_snapshot_generation", factory: factory)
        age = Metrics.Gauge(label: "faqsync_snapshot_age_seconds", factory: factory)
        reloads = Metrics.Counter(label: "faqsync_snapshot_reloads_total", factory: factory)
        failedReloads = Metrics.Counter(label: "faqsync_snapshot_failed_reloads_total", factory: factory)
    }

    /// Brings the snapshot gauges and reload counters up to date, just before a scrape.
    func refresh(from statistics: LiveSnapshot.Statistics, now: Date = Date()) {
        if let value = statistics.generation { generation.record(Double(value)) }
        if let created = statistics.createdMillis { age.record(now.timeIntervalSince1970 - Double(created) / 1000) }
        let (newReloads, newFailures) = seenReloads.advance(to: (statistics.reloads, statistics.failedReloads))
        if newReloads > 0 { reloads.increment(by: newReloads) }
        if newFailures > 0 { failedReloads.increment(by: newFailures) }
    }

    package func exposition() -> String { registry.emitToString() }
}

import Synchronization

/// The reload counts already turned into counter increments.
final class LockedCounts: Sendable {
    private let seen = Mutex((0, 0))

    func advance(to current: (Int, Int)) -> (Int, Int) {
        seen.withLock { seen in
            defer { seen = current }
            return (max(0, current.0 - seen.0), max(0, current.1 - seen.1))
        }
    }
}
