import Foundation
import PathNames
import SnapshotFormat

/// Publishes snapshot files atomically: readers see the old file or the new one, never a part.
///
/// The file is written to a temporary name in the same directory, fsynced, renamed over the
/// snapshot path (atomic within a filesystem), and the directory is fsynced so the rename itself
/// survives a crash. Blocking: call it from a thread of your own.
package struct SnapshotPublisher: Sendable {
    package let path: String
    /// Readers are typically other users in the same group (mode 0640).
    package static let fileMode: mode_t = 0o640

    package init(path: String) {
        self.path = path
    }

    /// The generation of the file at `path` when it is a valid snapshot, checksum included. Nil
    /// when there is none or it is unreadable or invalid (damaged, foreign, a generation no
    /// publisher could have written): the store remembers the generation, so nothing is lost.
    package func existingGeneration() -> UInt64? {
        (try? SnapshotMapping(path: path))?.view.header.generation
    }

    /// Writes and publishes a snapshot whose generation is above both `minimumGeneration - 1` and
    /// the generation of the (valid) file being replaced.
    package func publish(model: SnapshotEncoder.Model, templates: [SnapshotTemplate], minimumGeneration: UInt64,
                        now: Date = Date()) throws -> UInt64 {
        let generation = max(minimumGeneration, (existingGeneration() ?? 0) + 1)
        guard generation <= SnapshotLayout.maxGeneration else {
            throw SnapshotError(code: .inconsistent, path: path, message: "the next generation \(generation) is beyond \(SnapshotLayout.maxGeneration)")
        }
        let directory = PathName.directoryOrCurrent(of: path)
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = "\(directory)/.\(PathName.fileName(of: path)).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        removeStaleTemporaries(in: directory)

        let descriptor = open(temporary, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, Self.fileMode)
        guard descriptor >= 0 else { throw failure("creating \(temporary)") }
        var published = false
        defer {
            if !published { unlink(temporary) }
        }
        do {
            defer { close(descriptor) }
            // The umask may have narrowed the mode; readers in the group need it as documented.
            fchmod(descriptor, Self.fileMode)
            try SnapshotEncoder.write(to: descriptor, path: temporary, generation: generation,
                                      createdMillis: Int64(now.timeIntervalSince1970 * 1000), model: model, templates: templates)
            guard fsync(descriptor) == 0 else { throw failure("fsync of \(temporary)") }
        }
        guard rename(temporary, path) == 0 else { throw failure("renaming \(temporary) over \(path)") }
        published = true
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
        return generation
    }

    /// Temporary files of publishers that died mid-write (SIGKILL, power loss) would otherwise
    /// stay in the directory forever: remove those whose process no longer exists.
    func removeStaleTemporaries(in directory: String) {
        let prefix = ".\(PathName.fileName(of: path))."
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(prefix) && name.hasSuffix(".tmp") {
            let fields = name.dropFirst(prefix.count).split(separator: ".")
            guard let pid = fields.first.flatMap({ pid_t($0) }), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink("\(directory)/\(name)") }
        }
    }

    private func failure(_ action: String) -> SnapshotError {
        SnapshotError(code: .io, path: path, message: "\(action) failed: \(String(cString: strerror(errno)))")
    }
}
