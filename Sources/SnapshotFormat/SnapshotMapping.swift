import AtomicFiles
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A snapshot file mapped read-only and validated (checksum included unless asked otherwise);
/// unmapped when the last reference goes. The one place a snapshot file is opened for reading:
/// the reader library and the publisher (which must know the generation it replaces) share it.
public final class SnapshotMapping: @unchecked Sendable {
    // @unchecked: set once in init; the mapping is PROT_READ and lives until deinit.
    public let view: SnapshotView
    /// Device, inode, size and modification time of the mapped file.
    public let device: UInt64, inode: UInt64, size: Int64, modifiedNanoseconds: Int64
    private let address: UnsafeMutableRawPointer
    private let length: Int

    public init(path: String, verifyChecksum: Bool = true) throws {
        let descriptor: Int32, info: stat
        do {
            (descriptor, info) = try RegularFile.open(path)
        } catch {
            if error.doesNotExist { throw SnapshotError(code: .missing, path: path, message: "cannot open: no such file") }
            throw SnapshotError(code: .io, path: path, message: error.kind.map { "it is \($0), not a regular file" }
                                ?? "cannot open: \(String(cString: strerror(error.errno ?? EIO)))")
        }
        defer { close(descriptor) }
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
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        self.size = Int64(info.st_size)
        modifiedNanoseconds = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    }

    deinit {
        munmap(address, length)
    }
}
