import CodedErrors
import Foundation

/// A system call that failed: which one, on what, and the errno it set.
package struct SystemCallError: Error, CustomStringConvertible, Sendable, Equatable {
    package let call: String
    package let errno: Int32
    /// What it was called on (a path, "the wake pipe"), when that helps.
    package let subject: String?

    package init(call: String, errno: Int32, subject: String? = nil) {
        self.call = call
        self.errno = errno
        self.subject = subject
    }

    package var description: String {
        "\(call)\(subject.map { " (\($0))" } ?? "") failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// Runs system calls the way every one in faqsync is run: retried on EINTR, and a failure thrown
/// with the call's name and errno, never dropped.
package enum SystemCall {
    /// For calls that return -1 on failure (`open`, `fsync`, `pipe`, `read`, `write`, ...): the
    /// result, once the call did not fail with EINTR.
    @discardableResult
    package static func run<Result: BinaryInteger>(_ call: String, on subject: String? = nil,
                                                   _ body: () -> Result) throws(SystemCallError) -> Result {
        while true {
            let result = body()
            if result != -1 { return result }
            let code = Glibc.errno
            if code == EINTR { continue }
            throw SystemCallError(call: call, errno: code, subject: subject)
        }
    }

    /// `close`, whose failure leaves nothing to retry or undo (the descriptor is gone either way,
    /// and retrying on EINTR could close another thread's new descriptor); for the log.
    @discardableResult
    package static func close(_ descriptor: Int32) -> SystemCallError? {
        Glibc.close(descriptor) == 0 ? nil : SystemCallError(call: "close", errno: Glibc.errno)
    }
}

/// A pipe whose only job is to wake a thread blocked in `poll`: both ends close-on-exec and
/// non-blocking. Creating it throws when the system refuses (no descriptors left), instead of
/// leaving zeros that would make the owner poll and close standard input.
package final class WakePipe: Sendable {
    package let readEnd: Int32
    package let writeEnd: Int32

    /// - Parameter makePipe: `pipe`, replaceable by tests to make it fail.
    package init(makePipe: (UnsafeMutablePointer<Int32>) -> Int32 = { Glibc.pipe($0) }) throws(SystemCallError) {
        var descriptors: [Int32] = [-1, -1]
        try SystemCall.run("pipe", on: "the wake pipe") { makePipe(&descriptors) }
        do {
            for descriptor in descriptors {
                try SystemCall.run("fcntl", on: "the wake pipe") { fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
                try SystemCall.run("fcntl", on: "the wake pipe") { fcntl(descriptor, F_SETFL, O_NONBLOCK) }
            }
        } catch {
            for descriptor in descriptors { SystemCall.close(descriptor) }
            throw error
        }
        readEnd = descriptors[0]
        writeEnd = descriptors[1]
    }

    /// Wakes the reader; a full pipe already has a wake-up waiting, which is as good.
    package func wake() {
        var byte: UInt8 = 1
        _ = try? SystemCall.run("write", on: "the wake pipe") { Glibc.write(writeEnd, &byte, 1) }
    }

    package func closeWriteEnd() { SystemCall.close(writeEnd) }
    package func closeReadEnd() { SystemCall.close(readEnd) }
}

extension SystemCallError: CodedError {
    package var errorCode: String { "system-call-failed" }
}
