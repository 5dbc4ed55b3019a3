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
///
/// A delta (format version 3) maps its base too, from the file its header names beside it; the two
/// make `contents`.
public final class SnapshotMapping: @unchecked Sendable {
    // @unchecked: set once in init; the mapping is PROT_READ and lives until deinit.
    /// This file alone (a delta's own rows).
    public let view: SnapshotView
    /// The base of a delta, mapped; nil for a whole file.
    public let base: SnapshotMapping?
    /// The templates the snapshot holds: this file's, or a delta's and its base's.
    public let contents: SnapshotContents
    public let path: String
    /// The mapped file as it was when it was validated.
    package let identity: FileIdentity
    private let address: UnsafeMutableRawPointer
    private let length: Int
    /// Kept open to notice a write in place (`fstat`), closed with the mapping.
    private let descriptor: Int32
    /// The SIGBUS guard's slot for this mapping (-1: unguarded).
    private let guardSlot: Int32

    /// - Parameter known: a mapping the caller holds (the snapshot it serves): when the delta's
    ///   base is the very file it or its base maps, unchanged, that mapping is shared instead of
    ///   mapping and checksumming the base again, so switching to a delta costs the delta's size.
    public convenience init(path: String, verifyChecksum: Bool = true, known: SnapshotMapping? = nil) throws {
        try self.init(path: path, verifyChecksum: verifyChecksum, known: known, isBase: false)
    }

    /// `isBase`: the file is a delta's base, which must be whole (a delta over a delta would have
    /// readers follow a chain of files).
    private init(path: String, verifyChecksum: Bool, known: SnapshotMapping?, isBase: Bool) throws {
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
        if let reference = view.header.base {
            let basePath = SnapshotLayout.basePath(of: path, generation: reference.generation)
            do {
                if isBase {
                    throw SnapshotError(code: .baseMismatch, path: path, message: "a delta's base must be a whole file, and this one is a delta itself")
                }
                let base = try Self.reusable(known, at: basePath)
                    ?? SnapshotMapping(path: basePath, verifyChecksum: verifyChecksum, known: nil, isBase: true)
                contents = try SnapshotContents(delta: view, base: base.view, path: path)
                self.base = base
            } catch {
                faqsync_mapping_guard_unregister(slot)
                munmap(mapped, size)
                if let error = error as? SnapshotError, error.code == .missing {
                    throw SnapshotError(code: .baseMismatch, path: path, message: "its base file \(basePath) is missing: it was removed, or the delta was copied without it")
                }
                throw error
            }
        } else {
            base = nil
            contents = SnapshotContents(whole: view)
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
        try base?.checkIntact()
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

    /// Gives the mapped file (this very inode, whatever is at its path now) a second name,
    /// `newPath`, which must not exist: how a whole snapshot becomes a delta's base without a copy.
    package func link(as newPath: String) throws {
        let result = linkat(AT_FDCWD, "/proc/self/fd/\(descriptor)", AT_FDCWD, newPath, AT_SYMLINK_FOLLOW)
        guard result == 0 else {
            throw SnapshotError(code: .io, path: newPath, message: "linking \(path) as \(newPath) failed: \(String(cString: strerror(errno)))")
        }
    }

    /// `known` or its base when it is the whole, intact file now at `path`.
    private static func reusable(_ known: SnapshotMapping?, at path: String) -> SnapshotMapping? {
        guard let atPath = FileIdentity.of(path: path) else { return nil }
        for candidate in [known, known?.base] {
            guard let candidate, candidate.base == nil, atPath.hasSameContent(as: candidate.identity),
                  (try? candidate.checkIntact()) != nil else { continue }
            return candidate
        }
        return nil
    }

    deinit {
        faqsync_mapping_guard_unregister(guardSlot)
        munmap(address, length)
        close(descriptor)
    }
}
