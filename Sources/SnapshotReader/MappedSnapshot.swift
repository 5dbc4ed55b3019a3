import Foundation
import SnapshotFormat

/// One snapshot file mapped read-only into memory and validated.
///
/// Any number of processes mapping the same file share one copy through the page cache. The
/// mapping lives as long as this object: a query holds a reference, so a switch to a newer
/// snapshot never unmaps memory a query is still reading.
public final class MappedSnapshot: @unchecked Sendable {
    // @unchecked: every property is set once in init and never changes; the mapping is PROT_READ,
    // so concurrent queries only ever read it, and deinit runs after the last of them let go.
    public let path: String
    public let view: SnapshotView
    /// Identifies the file that was mapped, to notice when the path names another one.
    let identity: FileIdentity
    private let address: UnsafeMutableRawPointer
    private let length: Int

    public var header: SnapshotHeader { view.header }
    public var generation: UInt64 { view.header.generation }

    /// Opens, maps and validates (checksum included) the snapshot at `path`.
    public init(path: String, verifyChecksum: Bool = true) throws {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw SnapshotError(code: errno == ENOENT ? .missing : .io, path: path,
                                message: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw SnapshotError(code: .io, path: path, message: "cannot stat: \(String(cString: strerror(errno)))")
        }
        let size = Int(info.st_size)
        guard size >= SnapshotLayout.headerSize else {
            throw SnapshotError(code: .truncated, path: path, message: "the file has \(size) bytes, less than a snapshot header")
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_SHARED, descriptor, 0), mapped != MAP_FAILED else {
            throw SnapshotError(code: .io, path: path, message: "cannot map: \(String(cString: strerror(errno)))")
        }
        do {
            view = try SnapshotView(buffer: UnsafeRawBufferPointer(start: mapped, count: size), path: path,
                                    verifyChecksum: verifyChecksum)
        } catch {
            munmap(mapped, size)
            throw error
        }
        address = mapped
        length = size
        identity = FileIdentity(info)
    }

    deinit {
        munmap(address, length)
    }
}

/// Device, inode, size and modification time: a rename over the path changes the inode.
struct FileIdentity: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modified: Int64

    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    }

    static func of(path: String) -> FileIdentity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileIdentity(info)
    }
}
