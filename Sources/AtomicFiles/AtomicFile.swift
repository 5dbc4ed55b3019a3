import Foundation
import PathNames

/// Replaces a file so that readers see the old one or the new one, never a part of either: the
/// content goes to a temporary name in the same directory, is fsynced, renamed over the path
/// (atomic within a filesystem), and the directory is fsynced so the rename survives a crash.
/// The snapshot and the sync activity document are both published this way. Blocking: call it
/// from a thread of your own.
package struct AtomicFile: Sendable {
    package let path: String
    package let mode: mode_t

    /// Why a replacement failed: the step and the system's reason.
    package struct Failure: Error, CustomStringConvertible {
        package let path: String
        package let action: String
        package let reason: String
        package var description: String { "\(action) failed for \(path): \(reason)" }
    }

    package init(path: String, mode: mode_t) {
        self.path = path
        self.mode = mode
    }

    /// Writes through `write(descriptor, temporaryPath)` and publishes the result. Nothing is
    /// left behind when `write` throws.
    package func replace(_ write: (_ descriptor: Int32, _ temporaryPath: String) throws -> Void) throws {
        let directory = PathName.directoryOrCurrent(of: path)
        Directories.createMissing(directory)
        removeStaleTemporaries(in: directory)
        let temporary = "\(directory)/.\(PathName.fileName(of: path)).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let descriptor = open(temporary, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw failure("creating \(temporary)") }
        var published = false
        defer { if !published { unlink(temporary) } }
        do {
            defer { close(descriptor) }
            // The umask may have narrowed the mode; readers in the group need it as documented.
            fchmod(descriptor, mode)
            try write(descriptor, temporary)
            guard fsync(descriptor) == 0 else { throw failure("fsync of \(temporary)") }
        }
        guard rename(temporary, path) == 0 else { throw failure("renaming \(temporary) over \(path)") }
        published = true
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    /// `replace` with bytes in memory.
    package func replace(with data: Data) throws {
        try replace { descriptor, temporary in
            try data.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw failure("writing \(temporary)")
                    }
                    offset += written
                }
            }
        }
    }

    /// Temporary files of writers that died mid-write (SIGKILL, power loss) would otherwise stay
    /// in the directory forever: remove those whose process no longer exists.
    func removeStaleTemporaries(in directory: String) {
        let prefix = ".\(PathName.fileName(of: path))."
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(prefix) && name.hasSuffix(".tmp") {
            let fields = name.dropFirst(prefix.count).split(separator: ".")
            guard let pid = fields.first.flatMap({ pid_t($0) }), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink("\(directory)/\(name)") }
        }
    }

    private func failure(_ action: String) -> Failure {
        Failure(path: path, action: action, reason: String(cString: strerror(errno)))
    }
}
