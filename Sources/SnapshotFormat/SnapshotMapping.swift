import SystemIO
import CMappingGuard
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
    public let path: String
    /// The mapped file as it was when it was validated.
    package let identity: FileIdentity
    private let address: UnsafeMutableRawPointer
    private let length: Int
    /// Kept open to notice a write in place (`fstat`), closed with the mapping.
    private let descriptor: Int32
    /// The SIGBUS guard's slot for this mapping (-1: unguarded).
    private let guardSlot: Int32

    public init(path: String, verifyChecksum: Bool = true) throws {
        let descriptor: Int32, info: stat
        do {
            (descriptor, info) = try RegularFile.open(path)
        } catch {
            if error.doesNotExist { throw SnapshotError(code: .missing, path: path, message: "cannot open: no such file") }
            throw SnapshotError(code: .io, path: path, message: error.kind.map { "it is \($0), not a regular file" }
                                ?? "cannot open: \(String(cString: strerror(error.errno ?? EIO)))")
        }
        var keepOpen = false
        defer { if !keepOpen { close(descriptor) } }
        let size = Int(info.st_size)
        guard size >= SnapshotLayout.headerSize else {
            throw SnapshotError(code: .truncated, path: path, message: "the file has \(size) bytes, less than a snapshot header")
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_SHARED, descriptor, 0), mapped != MAP_FAILED else {
            throw SnapshotError(code: .io, path: path, message: "cannot map: \(String(cString: strerror(errno)))")
        }
        // Registered before the checksum is read: a file truncated while it is being validated
        // must not take the process down either.
        let slot = faqsync_mapping_guard_register(mapped, size)
        do {
            view = try SnapshotView(buffer: UnsafeRawBufferPointer(start: mapped, count: size), path: path,
                                    verifyChecksum: verifyChecksum)
            if faqsync_mapping_guard_faulted(slot) != 0 {
                throw SnapshotError(code: .changedUnderReader, path: path, message: "the file was truncated while it was being read")
            }
        } catch {
            faqsync_mapping_guard_unregister(slot)
            munmap(mapped, size)
            throw error
        }
        guardSlot = slot
        self.path = path
        self.descriptor = descriptor
        keepOpen = true
        address = mapped
        length = size
        identity = FileIdentity(info)
    }

    /// Throws `changedUnderReader` when anything read from this mapping may come from a file
    /// changed in place since it was validated: a read faulted (the file shrank under it) or the
    /// file's size or modification time moved (written to in place; the kernel stamps the time
    /// before the bytes change). Call it after reading: what was read before a clean check is
    /// what was validated.
    public func checkIntact() throws {
        if faqsync_mapping_guard_faulted(guardSlot) != 0 {
            throw SnapshotError(code: .changedUnderReader, path: path,
                                message: "the file was truncated in place while it was being read (was it overwritten with cp? use `faqsync snapshot install`)")
        }
        guard let now = FileIdentity.of(descriptor: descriptor) else {
            throw SnapshotError(code: .io, path: path, message: "cannot stat the mapped file: \(String(cString: strerror(errno)))")
        }
        guard now.hasSameContent(as: identity) else {
            throw SnapshotError(code: .changedUnderReader, path: path,
                                message: "the file was written to in place while it was served (was it overwritten with cp? use `faqsync snapshot install`)")
        }
    }

    deinit {
        faqsync_mapping_guard_unregister(guardSlot)
        munmap(address, length)
        close(descriptor)
    }
}
