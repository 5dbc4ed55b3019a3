import Foundation

/// One version of a file, told apart without reading it: where it lives (device, inode), its
/// size, and when its content and its inode last changed. A replaced file is another inode; a
/// write moves the modification time; any change at all moves the change time, which no user can
/// set back. The one way faqsync notices that a file it read has changed.
package struct FileIdentity: Equatable, Sendable {
    package var device: UInt64
    package var inode: UInt64
    package var size: Int64
    package var modifiedSeconds: Int64
    package var modifiedNanoseconds: Int64
    package var changedSeconds: Int64
    package var changedNanoseconds: Int64

    package init(_ status: stat) {
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
        size = Int64(status.st_size)
        modifiedSeconds = Int64(status.st_mtim.tv_sec)
        modifiedNanoseconds = Int64(status.st_mtim.tv_nsec)
        changedSeconds = Int64(status.st_ctim.tv_sec)
        changedNanoseconds = Int64(status.st_ctim.tv_nsec)
    }

    /// The identity of what `path` names now (through a symbolic link unless `followSymlinks`
    /// is false); nil when there is nothing there or it cannot be examined.
    package static func of(path: String, followSymlinks: Bool = true) -> FileIdentity? {
        var status = stat()
        let result = followSymlinks ? stat(path, &status) : lstat(path, &status)
        return result == 0 ? FileIdentity(status) : nil
    }

    /// The identity of the open file `descriptor`; nil when `fstat` fails.
    package static func of(descriptor: Int32) -> FileIdentity? {
        var status = stat()
        return fstat(descriptor, &status) == 0 ? FileIdentity(status) : nil
    }

    /// The same file (device and inode), whatever was written to it since.
    package func isSameFile(as other: FileIdentity) -> Bool {
        device == other.device && inode == other.inode
    }

    /// The same file with the same content as far as the system tells: same size and
    /// modification time. A `chmod` or a new hard link moves only the change time, and must not
    /// make a reader take the file it serves for a new one.
    package func hasSameContent(as other: FileIdentity) -> Bool {
        isSameFile(as: other) && size == other.size && modifiedSeconds == other.modifiedSeconds
            && modifiedNanoseconds == other.modifiedNanoseconds
    }

    /// `hasSameContent(as:)` of an identity that may be absent (false when it is).
    package func hasSameContent(as other: FileIdentity?) -> Bool {
        other.map { hasSameContent(as: $0) } ?? false
    }

    /// The later of the modification and change times, in seconds since the epoch.
    package var lastTouched: Double {
        max(Double(modifiedSeconds) + Double(modifiedNanoseconds) / 1e9, Double(changedSeconds) + Double(changedNanoseconds) / 1e9)
    }
}
