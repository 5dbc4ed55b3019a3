import CodedErrors
import SystemIO
import Foundation

/// The activity document on disk, beside the snapshot (`<snapshot>.activity.json`, mode 0640 like
/// the snapshot: the serving user's group reads it). Written atomically by the store's writer;
/// read, size-checked and validated by `serve`, which treats it as input like any other file.
package struct SyncActivityFile: Sendable {
    package let path: String
    /// The writer's documents stay far below this (20 runs × 200 listed entries); anything larger
    /// is not one of them and is refused before it is read.
    package static let maximumBytes = 16 * 1024 * 1024
    package static let fileMode: mode_t = 0o640

    package init(path: String) { self.path = path }

    package init(besideSnapshot snapshotPath: String) { path = snapshotPath + ".activity.json" }

    /// Blocking.
    package func write(_ activity: SyncActivity) throws {
        let data = try SyncActivity.encoder().encode(activity)
        do {
            try AtomicFile(path: path, mode: Self.fileMode).replace(with: data)
        } catch let failure as AtomicFile.Failure {
            throw SyncActivityError(code: .io, path: path, message: "\(failure.action) failed: \(failure.reason)",
                                    hint: "check that the snapshot's directory is writable by the writer")
        }
    }

    /// Blocking. Nil when there is no file yet (the writer has not synced since it started).
    package func read() throws -> SyncActivity? {
        let descriptor: Int32, status: stat
        do {
            (descriptor, status) = try RegularFile.open(path, followSymlinks: false)
        } catch {
            if error.doesNotExist { return nil }
            if let kind = error.kind {
                throw SyncActivityError(code: .invalid, path: path, message: "it is \(kind), not a regular file",
                                        hint: "remove it; the writer recreates it at its next sync")
            }
            throw SyncActivityError(code: .io, path: path, message: "cannot open: \(String(cString: strerror(error.errno ?? EIO)))",
                                    hint: "the serving user needs read access (the writer creates it with mode 0640, group faqsync)")
        }
        defer { close(descriptor) }
        guard status.st_size <= Self.maximumBytes else {
            throw SyncActivityError(code: .tooLarge, path: path, message: "\(status.st_size) bytes, more than the \(Self.maximumBytes) a writer produces",
                                    hint: "remove it; the writer recreates it at its next sync")
        }
        var data = Data(count: Int(status.st_size))
        var filled = 0
        let failed = data.withUnsafeMutableBytes { buffer -> Bool in
            while filled < buffer.count {
                let count = Foundation.read(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { return count < 0 }
                filled += count
            }
            return false
        }
        guard !failed else {
            throw SyncActivityError(code: .io, path: path, message: "cannot read: \(String(cString: strerror(errno)))", hint: "check the file system")
        }
        do {
            return try SyncActivity.decoder().decode(SyncActivity.self, from: data.prefix(filled))
        } catch {
            throw SyncActivityError(code: .invalid, path: path, message: "not an activity document this faqsync can read (\(Self.describe(error)))",
                                    hint: "upgrade serve and the writer together, or remove the file; the writer recreates it at its next sync")
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context): context.debugDescription
        case DecodingError.keyNotFound(let key, _): "the field '\(key.stringValue)' is missing"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "the field '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type"
        default: "\(error)"
        }
    }
}

/// Why the activity document could not be written or read: a code, the file, what happened and
/// what to do.
package struct SyncActivityError: Error, CustomStringConvertible, Sendable {
    package enum Code: String, Sendable { case io, invalid, tooLarge = "too-large" }
    package let code: Code
    package let path: String
    package let message: String
    /// What to do (always given; optional only as `CodedError` declares it).
    package let hint: String?

    init(code: Code, path: String, message: String, hint: String) {
        self.code = code
        self.path = path
        self.message = message
        self.hint = hint
    }

    package var description: String { "[\(code.rawValue)] \(path): \(message); \(hint ?? "")" }
}

extension SyncActivityError: CodedError {
    package var errorCode: String { "activity-\(code.rawValue)" }
}
