import CodedErrors
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The one HTTP server faqsync runs: `serve` (on an address or on the socket systemd passed) and
/// the daemon's `/metrics` endpoint.
///
/// It runs Hummingbird's HTTP/1 channel and the router's responder over a NIO server channel it
/// owns, so that one set of protections holds wherever it listens (issue "Hostile neighbours",
/// item 5; Hummingbird's `Application` neither closes half-sent requests nor caps connections):
///
/// - every request must arrive whole within `Limits.requestTimeout` of the connection waiting for
///   it (after connecting, or after the previous response): idle keep-alive connections and
///   requests sent a byte at a time are closed;
/// - at most `Limits.maxConnections` connections are open; beyond that the connection that has
///   waited longest without a request in progress is closed to make room, so a flood of idle
///   connections cannot lock out a health check; a newcomer is refused only when every open
///   connection is busy with a request;
/// - accept errors (EMFILE when descriptors run out) are backed off by NIO's `AcceptBackoffHandler`,
///   not spun on.
///
/// On graceful shutdown it stops accepting and lets open requests finish.
package struct HTTPServer: Service {
    package enum Listener: Sendable {
        /// Bind `host:port` (port 0 picks a free one).
        case address(host: String, port: Int)
        /// A socket already bound and listening (from systemd socket activation).
        case descriptor(Int32)
    }

    package struct Limits: Sendable {
        /// Connections open at once (the rest of the descriptors stay for the store, the snapshot
        /// and the model): half of the 1,024 a process gets by default.
        package var maxConnections = 512
        /// Time a client has to send a whole request once the connection waits for one.
        package var requestTimeout: TimeAmount = .seconds(10)

        package static let maxConnectionsRange = 1...65_536

        package init() {}
    }

    let listener: Listener
    let responder: RouterResponder<BasicRequestContext>
    let limits: Limits
    let logger: Logger
    /// The setting or flags that chose the address, for the error when it cannot be bound.
    let setting: String
    let onListening: @Sendable (_ address: String, _ port: Int?) async -> Void

    /// - Parameters:
    ///   - setting: what chose the address (`--host and --port`, `METRICS_ADDRESS`), named when it is taken.
    ///   - onListening: called once the socket is listening, with the address it is bound to and its port.
    package init(listener: Listener, router: Router<BasicRequestContext>, limits: Limits = Limits(), logger: Logger,
                setting: String = "--host and --port",
                onListening: @escaping @Sendable (_ address: String, _ port: Int?) async -> Void = { _, _ in }) {
        self.setting = setting
        self.listener = listener
        self.responder = router.buildResponder()
        self.limits = limits
        self.logger = logger
        self.onListening = onListening
    }

    package func run() async throws {
        let responder = self.responder
        let logger = self.logger
        let limits = self.limits
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
        })
        let gate = ConnectionGate(maximum: limits.maxConnections, logger: logger)
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
        let initialize: @Sendable (any Channel) -> EventLoopFuture<HTTP1Channel.Value> = { channel in
            let admission = gate.admit(channel)
            return channel.pipeline.addHandler(FirstRequestMarker(state: admission.state), position: .first).flatMap {
                http.setup(channel: channel, logger: logger)
            }.flatMapThrowing { value in
                // After the HTTP/1 codec, where a request's head and end are seen whole.
                let codec = try channel.pipeline.syncOperations.handler(type: HTTP1ToHTTPServerCodec.self)
                try channel.pipeline.syncOperations.addHandler(RequestDeadline(timeout: limits.requestTimeout, state: admission.state),
                                                               position: .after(codec))
                // A refused connection is closed here rather than failed: a failed initializer
                // ends the server's stream of connections.
                if !admission.admitted { channel.close(promise: nil) }
                return value
            }
        }
        let serverChannel: NIOAsyncChannel<HTTP1Channel.Value, Never>
        let address: String
        switch listener {
        case .address(let host, let port):
            do {
                serverChannel = try await bootstrap.bind(host: host, port: port, serverBackPressureStrategy: nil,
                                                         childChannelInitializer: initialize)
            } catch {
                throw HTTPServerError(address: "\(host):\(port)", setting: setting, cause: error)
            }
            address = "\(host):\(serverChannel.channel.localAddress?.port ?? port)"
        case .descriptor(let descriptor):
            serverChannel = try await bootstrap.bind(descriptor, cleanupExistingSocketFile: false, serverBackPressureStrategy: nil,
                                                     childChannelInitializer: initialize)
            address = serverChannel.channel.localAddress.map { "\($0)" } ?? "fd \(descriptor)"
        }
        logger.info("listening", metadata: ["address": "\(address)", "max_connections": "\(limits.maxConnections)",
                                            "request_timeout": "\(limits.requestTimeout)"])
        await onListening(address, serverChannel.channel.localAddress?.port)
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
            // remains, see docs/operating.md "Run as a service".) Then ask every connection to finish its
            // request in flight and close; idle keep-alive connections close at once.
            let channel = serverChannel.channel
            channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in
                gate.quiesceAll()
                channel.close(promise: nil)
            }
        }
    }
}

/// The listening address could not be bound: names the address and what to change.
package struct HTTPServerError: Error, CustomStringConvertible {
    package let address: String
    package let setting: String
    package let cause: any Error

    package var code: String {
        if let error = cause as? IOError, error.errnoCode == EADDRINUSE { return "address-in-use" }
        return "cannot-listen"
    }

    package var description: String {
        if let error = cause as? IOError {
            let reason = String(cString: strerror(error.errnoCode))
            let remedy = error.errnoCode == EADDRINUSE
                ? "another process listens there; stop it or choose another address with \(setting)"
                : "check \(setting)"
            return "cannot listen on \(address): \(reason) (\(remedy))"
        }
        return "cannot listen on \(address): \(cause) (check \(setting))"
    }
}

/// What the server knows of one connection, shared by its handlers (on its event loop) and the
/// gate (on whichever loop accepts the next connection).
final class ConnectionState: Sendable {
    /// Order of acceptance: the lowest idle one is closed first when the server is full.
    let sequence: UInt64
    /// Requests received whole whose response has not been written yet.
    let requestsOwed = Atomic<Int>(0)
    let hasReceivedData = Atomic<Bool>(false)
    let quiesceOnFirstData = Atomic<Bool>(false)

    init(sequence: UInt64) { self.sequence = sequence }

    var isBusy: Bool { requestsOwed.load(ordering: .relaxed) > 0 }
}

/// The connections a server has open: caps them, and quiesces them without dropping a request.
///
/// A connection accepted just before shutdown whose request bytes are still on their way looks
/// idle, and quiescing an idle HTTP connection closes it: the client would see its request
/// dropped, although systemd queued it for us. So a connection that has not sent anything yet is
/// quiesced as soon as its first bytes arrive (its request then completes), or closed after a
/// grace period if it sends nothing at all.
final class ConnectionGate: Sendable {
    private struct Entry {
        let channel: any Channel
        let state: ConnectionState
    }
    private struct Book {
        var nextSequence: UInt64 = 0
        var open: [ObjectIdentifier: Entry] = [:]
    }
    private let book = Mutex(Book())
    private let maximum: Int
    private let logger: Logger
    static let silentConnectionGrace: TimeAmount = .seconds(2)

    init(maximum: Int, logger: Logger) {
        self.maximum = maximum
        self.logger = logger
    }

    /// Takes a new connection into the book. At the cap, the connection that has waited longest
    /// without a request in progress is closed to make room; when every one is busy, the
    /// newcomer is refused (`admitted` false) and must be closed by the caller.
    func admit(_ channel: any Channel) -> (state: ConnectionState, admitted: Bool) {
        let key = ObjectIdentifier(channel)
        let (state, evicted, admitted) = book.withLock { book -> (ConnectionState, (any Channel)?, Bool) in
            let state = ConnectionState(sequence: book.nextSequence)
            book.nextSequence &+= 1
            var evicted: (any Channel)?
            if book.open.count >= maximum {
                let oldestIdle = book.open.filter { !$0.value.state.isBusy }.min { $0.value.state.sequence < $1.value.state.sequence }
                guard let oldestIdle else { return (state, nil, false) }
                book.open.removeValue(forKey: oldestIdle.key)
                evicted = oldestIdle.value.channel
            }
            book.open[key] = Entry(channel: channel, state: state)
            return (state, evicted, true)
        }
        if let evicted {
            logger.debug("connection limit reached: closing the longest-idle connection", metadata: ["max_connections": "\(maximum)"])
            evicted.close(promise: nil)
        }
        if admitted {
            channel.closeFuture.whenComplete { [weak self] _ in
                _ = self?.book.withLock { $0.open.removeValue(forKey: key) }
            }
        } else {
            logger.warning("connection limit reached with every connection busy: refusing a connection",
                           metadata: ["max_connections": "\(maximum)"])
        }
        return (state, admitted)
    }

    func quiesceAll() {
        for entry in book.withLock({ Array($0.open.values) }) {
            let channel = entry.channel, state = entry.state
            channel.eventLoop.execute {
                if state.hasReceivedData.load(ordering: .relaxed) {
                    channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
                } else {
                    state.quiesceOnFirstData.store(true, ordering: .relaxed)
                    channel.eventLoop.scheduleTask(in: Self.silentConnectionGrace) {
                        if !state.hasReceivedData.load(ordering: .relaxed) { channel.close(promise: nil) }
                    }
                }
            }
        }
    }
}

/// First in each connection's pipeline: notes that the client has sent something, and passes a
/// pending quiesce on once the first request is under way.
final class FirstRequestMarker: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let state: ConnectionState

    init(state: ConnectionState) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let first = !state.hasReceivedData.exchange(true, ordering: .relaxed)
        context.fireChannelRead(data)
        if first, state.quiesceOnFirstData.load(ordering: .relaxed) {
            context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }
}

/// Closes a connection that does not deliver a whole request within the timeout of waiting for
/// one: from connecting, and from the end of each response while no request is owed. Sits after
/// the HTTP/1 codec, which passes a request's head only once every header line has arrived, so a
/// request dribbled a byte at a time is closed too. Touched on its channel's event loop only.
final class RequestDeadline: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    private let state: ConnectionState
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount, state: ConnectionState) {
        self.timeout = timeout
        self.state = state
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if deadline == nil { arm(context) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) {
            state.requestsOwed.add(1, ordering: .relaxed)
            disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), state.requestsOwed.subtract(1, ordering: .relaxed).newValue <= 0 {
            state.requestsOwed.store(0, ordering: .relaxed)
            arm(context)
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        disarm()
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            channel.close(promise: nil)
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}

extension HTTPServer {
    /// `GET /metrics` alone, for the daemon's `METRICS_ADDRESS`: the same server, limits and all.
    package static func metricsEndpoint(host: String, port: Int, limits: Limits = Limits(), logger: Logger,
                                        exposition: @escaping @Sendable () -> String) -> HTTPServer {
        let router = Router()
        router.get("/metrics") { _, _ in
            var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: exposition())))
            response.headers[.contentType] = "text/plain; version=0.0.4"
            return response
        }
        return HTTPServer(listener: .address(host: host, port: port), router: router, limits: limits, logger: logger,
                          setting: "METRICS_ADDRESS")
    }
}

extension HTTPServerError: CodedError {
    package var errorCode: String { code }
    package var underlying: (any Error)? { cause }
}
