import Dispatch

/// Runs blocking work (file reads, inflating a zip, parsing) on a Dispatch thread instead of the
/// cooperative pool, whose few threads must never wait on I/O. Default QoS: on Linux libdispatch
/// renices threads of higher classes below nice 0, which an unprivileged service may not do.
package enum BlockingWork {
    private static let queue = DispatchQueue(label: "faqsync.blocking-work", qos: .default, attributes: .concurrent)

    package static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result(catching: body)) }
        }
    }
}
