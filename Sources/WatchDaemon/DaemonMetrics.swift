import Foundation
import Metrics
import Prometheus

/// The daemon's Prometheus metrics (`METRICS_ADDRESS`), on a registry of its own.
package struct DaemonMetrics: Sendable {
    package let registry: PrometheusCollectorRegistry
    private let succeeded: Metrics.Counter
    private let failed: Metrics.Counter
    private let duration: Metrics.Timer
    private let lastSuccess: Metrics.Gauge
    private let generation: Metrics.Gauge
    private let watchdogPings: Metrics.Counter
    private let embedded: Metrics.Counter
    private let cacheHits: Metrics.Counter
    private let skippedRows: Metrics.Gauge
    private let checks: Metrics.Gauge
    private let checksTop1: Metrics.Gauge
    private let checksTop3: Metrics.Gauge
    private let checksMRR: Metrics.Gauge
    private let heldVersion: Metrics.Gauge
    private let merged: Metrics.Counter
    private let mergesCancelled: Metrics.Counter
    private let mergesFailed: Metrics.Counter
    private let mergeDuration: Metrics.Timer

    package init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        let factory = PrometheusMetricsFactory(registry: registry)
        succeeded = Metrics.Counter(label: "faqsync_syncs_total", dimensions: [("outcome", "succeeded")], factory: factory)
        failed = Metrics.Counter(label: "faqsync_syncs_total", dimensions: [("outcome", "failed")], factory: factory)
        duration = Metrics.Timer(label: "faqsync_sync_duration_seconds", factory: factory)
        lastSuccess = Metrics.Gauge(label: "faqsync_last_successful_sync_timestamp_seconds", factory: factory)
        generation = Metrics.Gauge(label: "faqsync_snapshot_generation", factory: factory)
        watchdogPings = Metrics.Counter(label: "faqsync_watchdog_pings_total", factory: factory)
        embedded = Metrics.Counter(label: "faqsync_texts_embedded_total", factory: factory)
        cacheHits = Metrics.Counter(label: "faqsync_cache_hits_total", factory: factory)
        skippedRows = Metrics.Gauge(label: "faqsync_skipped_rows", factory: factory)
        checks = Metrics.Gauge(label: "faqsync_checks", factory: factory)
        checksTop1 = Metrics.Gauge(label: "faqsync_checks_found_first", factory: factory)
        checksTop3 = Metrics.Gauge(label: "faqsync_checks_found_top3", factory: factory)
        checksMRR = Metrics.Gauge(label: "faqsync_checks_mrr", factory: factory)
        heldVersion = Metrics.Gauge(label: "faqsync_model_version_held", factory: factory)
        merged = Metrics.Counter(label: "faqsync_snapshot_merges_total", dimensions: [("outcome", "merged")], factory: factory)
        mergesCancelled = Metrics.Counter(label: "faqsync_snapshot_merges_total", dimensions: [("outcome", "cancelled")], factory: factory)
        mergesFailed = Metrics.Counter(label: "faqsync_snapshot_merges_total", dimensions: [("outcome", "failed")], factory: factory)
        mergeDuration = Metrics.Timer(label: "faqsync_snapshot_merge_duration_seconds", factory: factory)
    }

    /// The FAQ team's checks on the current version after a sync (hybrid mode), and whether a
    /// new model version is held back by them (1) or not (0).
    package func recordChecks(total: Int, top1: Int, top3: Int, mrr: Double, held: Bool?) {
        checks.record(Double(total))
        checksTop1.record(Double(top1))
        checksTop3.record(Double(top3))
        checksMRR.record(mrr)
        if let held { heldVersion.record(held ? 1 : 0) }
    }

    func syncSucceeded(duration elapsed: Duration, generation value: UInt64?, skippedRows skipped: Int) {
        succeeded.increment()
        skippedRows.record(Double(skipped))
        duration.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        lastSuccess.record(Date().timeIntervalSince1970)
        if let value { generation.record(Double(value)) }
    }

    func syncFailed() { failed.increment() }

    /// A merge of the delta snapshot when idle: what became of it, and how long a finished one took.
    func merge(_ result: WatchPolicy.MergeResult, duration elapsed: Duration) {
        switch result {
        case .merged(let value):
            merged.increment()
            mergeDuration.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
            generation.record(Double(value))
        case .cancelled: mergesCancelled.increment()
        case .failed: mergesFailed.increment()
        case .nothingToMerge: break
        }
    }
    func watchdogPinged() { watchdogPings.increment() }

    package func recordCosts(embedded texts: Int, cacheHits hits: Int) {
        if texts > 0 { embedded.increment(by: texts) }
        if hits > 0 { cacheHits.increment(by: hits) }
    }

    package func exposition() -> String { registry.emitToString() }
}
