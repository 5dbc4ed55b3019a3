import ArgumentParser
import Foundation
import Settings
import Logging
import RetrievalServer
import ServiceLifecycle
import SnapshotReader
import SyncActivity

extension FAQSyncCommand {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the HTTP retrieval API from the snapshot, switching to new snapshots live.",
            discussion: "Under systemd socket activation (faqsync-serve.socket) it serves the socket it is given; otherwise --host and --port. With --store postgres (or STORAGE_BACKEND=postgres) it also keeps the snapshot up to date from the database, as `faqsync snapshot follow` does.")

        @OptionGroup var common: CommonOptions
        @Option(help: "Address to listen on.") var host = "127.0.0.1"
        @Option(help: "Port to listen on (0 picks a free one).") var port = 8088
        @Option(help: "Connections open at once (\(HTTPServer.Limits.maxConnectionsRange.lowerBound)–\(HTTPServer.Limits.maxConnectionsRange.upperBound)); beyond it the longest-idle one is closed. Keep it under the open-file limit (LimitNOFILE=).")
        var maxConnections = HTTPServer.Limits().maxConnections

        func validate() throws {
            guard HTTPServer.Limits.maxConnectionsRange.contains(maxConnections) else {
                throw ValidationError("--max-connections must be between \(HTTPServer.Limits.maxConnectionsRange.lowerBound) and \(HTTPServer.Limits.maxConnectionsRange.upperBound), not \(maxConnections)")
            }
        }

        func run() async throws {
            try await withFailureHandling(json: false) {
                let configuration = try common.configuration()
                let logger = Logger(label: "faqsync.serve")
                let live = try LiveSnapshot(path: configuration.snapshotPath, requireSnapshot: false, logger: logger)
                let embedder = try await configuration.makeEmbedder(knownDimension: live.current?.header.dimension, logger: logger)
                let activated = SystemdSockets.take().first
                let listening = activated.map(LoopbackAddress.of(descriptor:)) ?? (address: "\(host):\(port)", isLoopback: LoopbackAddress.contains(host: host))
                let access = PageAccess.forListening(onLoopback: listening.isLoopback, address: listening.address,
                                                     token: try FAQSyncConfiguration.serveToken())
                if case .tokenMissing = access {
                    logger.warning("the FAQ team's page and /v1/syncs are refused: serve listens beyond loopback without SERVE_TOKEN",
                                   metadata: ["address": "\(listening.address)"])
                }
                let service = RetrievalService(live: live, embedder: embedder,
                                               activitySource: Self.activitySource(configuration, logger: logger), pageAccess: access)
                let snapshotPath = configuration.snapshotPath
                @Sendable func announce(_ address: String) {
                    let generation = live.current.map { "generation \($0.generation)" } ?? "no snapshot yet"
                    Terminal.writeLine("faqsync serve: listening on \(address) (snapshot \(snapshotPath), \(generation))")
                }
                var limits = HTTPServer.Limits()
                limits.maxConnections = maxConnections
                let server = HTTPServer(listener: activated.map(HTTPServer.Listener.descriptor) ?? .address(host: host, port: port),
                                        router: service.makeRouter(), limits: limits, logger: logger) { [host] _, boundPort in
                    if let activated {
                        announce("the socket passed by systemd (fd \(activated))")
                    } else {
                        announce("http://\(host):\(boundPort ?? port)")
                    }
                }
                // The reader follows new snapshots for as long as the group runs.
                var services: [any Service] = [LiveSnapshotFollowing(live: live), server]
                // With the PostgreSQL store, this host keeps its own snapshot from the database.
                if configuration.backend == .postgres {
                    services.append(try Snapshot.Follow.follower(configuration, logger: logger, json: nil))
                }
                let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                                                              logger: logger))
                try await group.run()
            }
        }

        /// With PostgreSQL, serve can query the store itself (it is configured with the database);
        /// with SQLite, the store is the writer's alone, and the writer publishes the document.
        static func activitySource(_ configuration: FAQSyncConfiguration, logger: Logger) -> SyncActivitySource {
            guard configuration.backend == .postgres else { return .file(SyncActivityFile(besideSnapshot: configuration.snapshotPath)) }
            let store = configuration.makeStore()
            return SyncActivitySource(origin: store.location) {
                guard store.exists() else { return nil }
                return try await SyncActivity.read(from: store, lastAttempt: nil)
            }
        }
    }
}
