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
        /// The system's error number, when a system call failed.
        package let errno: Int32?
        package var description: String { "\(action) failed for \(path): \(reason)" }
    }

    package init(path: String, mode: mode_t) {
        self.path = path
        self.mode = mode
    }

    /// Writes through `write(descriptor, temporaryPath)` and publishes the result. Nothing is
    /// left behind when `write` throws. `write` may also open the temporary path itself (SQLite
    /// writes a backup that way): the data is synced through this descriptor all the same.
    /// - Parameter replacing: false to refuse an existing file at the path (`EEXIST`) instead of
    ///   replacing it; the new file then appears by `link`, which never overwrites.
    /// - Parameter beforePublishing: called once the new file is complete and synced, before it
    ///   appears at the path; throwing there leaves the old file in place and nothing behind.
    package func replace(replacing: Bool = true, beforePublishing: () throws -> Void = {},
                         _ write: (_ descriptor: Int32, _ temporaryPath: String) throws -> Void) throws {
        let directory = PathName.directoryOrCurrent(of: path)
        Directories.createMissing(directory)
        removeStaleTemporaries(in: directory)
        let temporary = "\(directory)/.\(PathName.fileName(of: path)).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let descriptor: Int32
        do { descriptor = try SystemCall.run("open") { open(temporary, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, mode) } } catch {
            throw failure("creating \(temporary)", error)
        }
        var published = false
        defer { if !published { unlink(temporary) } }
        do {
            defer { SystemCall.close(descriptor) }
            // The umask may have narrowed the mode; readers in the group need it as documented.
            do { try SystemCall.run("fchmod") { fchmod(descriptor, mode) } } catch { throw failure("setting the mode of \(temporary)", error) }
            try write(descriptor, temporary)
            do { try SystemCall.run("fsync") { fsync(descriptor) } } catch { throw failure("fsync of \(temporary)", error) }
        }
        try beforePublishing()
        if replacing {
            do { try SystemCall.run("rename") { rename(temporary, path) } } catch { throw failure("renaming \(temporary) over \(path)", error) }
        } else {
            do { try SystemCall.run("link") { link(temporary, path) } } catch { throw failure("creating \(path)", error) }
            unlink(temporary)
        }
        published = true
        // The rename (or link) survives a crash only once the directory is synced.
        do {
            let directoryDescriptor = try SystemCall.run("open") { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
            defer { SystemCall.close(directoryDescriptor) }
            try SystemCall.run("fsync") { fsync(directoryDescriptor) }
        } catch {
            throw failure("fsync of the directory \(directory) (\(path) is in place but may not survive a crash)", error)
        }
    }

    /// `replace` with bytes in memory.
    package func replace(with data: Data) throws {
        try replace { descriptor, temporary in
            try data.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    do {
                        offset += try SystemCall.run("write") { Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset) }
                    } catch let error as SystemCallError {
                        throw failure("writing \(temporary)", error)
                    }
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
        Failure(path: path, action: action, reason: String(cString: strerror(errno)), errno: errno)
    }

    private func failure(_ action: String, _ error: SystemCallError) -> Failure {
        Failure(path: path, action: action, reason: String(cString: strerror(error.errno)), errno: error.errno)
    }
}
