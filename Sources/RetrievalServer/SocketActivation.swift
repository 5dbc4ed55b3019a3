import CSystemd
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Listening sockets passed by systemd socket activation (`faqsync-serve.socket`).
package enum SystemdSockets {
    /// The file descriptors systemd passed, starting at 3; empty when not socket-activated.
    /// `sd_listen_fds(1)` also unsets `LISTEN_FDS`/`LISTEN_PID`, so children do not inherit them.
    package static func take() -> [Int32] {
        let count = sd_listen_fds(1)
        guard count > 0 else { return [] }
        return (0..<count).map { SD_LISTEN_FDS_START + $0 }
    }
}

/// Serves the router on a socket that is already bound and listening (from systemd).
///
/// Hummingbird's `Application` can only bind an address itself, so this runs the same pieces it
/// uses (Hummingbird's HTTP/1 channel handler and the router's responder) over a NIO server
/// channel made from the inherited descriptor. Connections queued by systemd while the process
/// started are served; on graceful shutdown it stops accepting and lets open requests finish.
package struct ActivatedSocketServer: Service {
    let descriptor: Int32
    let responder: RouterResponder<BasicRequestContext>
    let logger: Logger
    let onListening: @Sendable () async -> Void

    package init(descriptor: Int32, router: Router<BasicRequestContext>, logger: Logger,
                onListening: @escaping @Sendable () async -> Void = {}) {
        self.descriptor = descriptor
        self.responder = router.buildResponder()
        self.logger = logger
        self.onListening = onListening
    }

    package func run() async throws {
        let responder = self.responder
        let logger = self.logger
        let http = HTTP1Channel(responder: { request, responseWriter, channel in
            let context = BasicRequestContext(source: .init(channel: channel, logger: logger))
            var response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch {
                response = Response(status: .internalServerError)
            }
            response.headers[.server] = "faqsync"
            try await responseWriter.write(response: response.head, body: response.body)
        }, configuration: .init(idleTimeout: .seconds(75)))
        let connections = OpenConnections()
        let serverChannel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .bind(descriptor, cleanupExistingSocketFile: false, serverBackPressureStrategy: nil) { channel in
                let marker = connections.track(channel)
                return channel.pipeline.addHandler(marker, position: .first).flatMap {
                    http.setup(channel: channel, logger: logger)
                }
            }
        logger.info("serving the socket passed by systemd", metadata: ["fd": "\(descriptor)",
                                                                       "address": "\(serverChannel.channel.localAddress.map { "\($0)" } ?? "?")"])
        await onListening()
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await serverChannel.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await http.handle(value: connection, logger: logger) }
                    }
                }
            }
        } onGracefulShutdown: {
            // Stop accepting first (no more reads on the listening socket), and only then close
            // it, so no accept is under way when the channel closes; connections not accepted
            // stay queued on systemd's socket for the next process. (Closing at once lost a
            // request to a reset in 2 of 7 restart tests; this order, in 1 of 16: a rarer race
            // remains, see README.md "Run as a service".) Then ask every connection to finish its
            // request in flight and close; idle keep-alive connections close at once (as
            // Hummingbird's own server does).
            let channel = serverChannel.channel
            channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in
                connections.quiesceAll()
                channel.close(promise: nil)
            }
        }
    }
}

/// The connections a server has open, so shutdown can quiesce them without dropping a request.
///
/// A connection accepted just before shutdown whose request bytes are still on their way looks
/// idle, and quiescing an idle HTTP connection closes it: the client would see its request
/// dropped, although systemd queued it for us. So a connection that has not sent anything yet is
/// quiesced as soon as its first bytes arrive (its request then completes), or closed after a
/// grace period if it sends nothing at all.
final class OpenConnections: Sendable {
    private struct Entry {
        let channel: any Channel
        let marker: FirstRequestMarker
    }
    private let entries = Mutex<[ObjectIdentifier: Entry]>([:])
    static let silentConnectionGrace: TimeAmount = .seconds(2)

    func track(_ channel: any Channel) -> FirstRequestMarker {
        let key = ObjectIdentifier(channel)
        let marker = FirstRequestMarker()
        entries.withLock { $0[key] = Entry(channel: channel, marker: marker) }
        channel.closeFuture.whenComplete { [weak self] _ in
            _ = self?.entries.withLock { $0.removeValue(forKey: key) }
        }
        return marker
    }

    func quiesceAll() {
        for entry in entries.withLock({ Array($0.values) }) {
            let channel = entry.channel, marker = entry.marker
            channel.eventLoop.execute {
                if marker.hasReceivedData {
                    channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
                } else {
                    marker.quiesceOnFirstData = true
                    channel.eventLoop.scheduleTask(in: Self.silentConnectionGrace) {
                        if !marker.hasReceivedData { channel.close(promise: nil) }
                    }
                }
            }
        }
    }
}

/// First in each connection's pipeline: notes that the client has sent something, and passes a
/// pending quiesce on once the first request is under way. Touched on the channel's event loop
/// only (hence `@unchecked Sendable`).
final class FirstRequestMarker: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    var hasReceivedData = false
    var quiesceOnFirstData = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let first = !hasReceivedData
        hasReceivedData = true
        context.fireChannelRead(data)
        if first, quiesceOnFirstData {
            context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }
}
