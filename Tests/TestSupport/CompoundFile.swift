import Foundation

/// A minimal OLE compound file (Microsoft's Compound File Binary format, version 3): the header
/// and one directory sector naming `streams`. What Excel writes for a password-protected
/// workbook has `EncryptionInfo` and `EncryptedPackage` streams; a legacy `.xls` has `Workbook`.
/// Only the directory is real; the streams hold nothing, which is all a reader needs to tell
/// the kinds apart.
package enum CompoundFile {
    package static func withStreams(_ streams: [String]) -> Data {
        var header = [UInt8](repeating: 0, count: 512)
        header.replaceSubrange(0..<8, with: [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
        put16(&header, 24, 0x003E)     // minor version
        put16(&header, 26, 0x0003)     // major version 3: 512-byte sectors
        put16(&header, 28, 0xFFFE)     // little-endian
        put16(&header, 30, 9)          // sector shift: 2^9
        put16(&header, 32, 6)          // mini sector shift
        put32(&header, 44, 1)          // one FAT sector
        put32(&header, 48, 0)          // the directory starts at sector 0
        put32(&header, 56, 4096)       // mini stream cutoff
        put32(&header, 60, 0xFFFF_FFFE)
        put32(&header, 68, 0xFFFF_FFFE)
        put32(&header, 76, 1)          // the FAT is sector 1
        for index in 1..<109 { put32(&header, 76 + index * 4, 0xFFFF_FFFF) }

        var directory = [UInt8](repeating: 0, count: 512)
        for (index, name) in (["Root Entry"] + streams.prefix(3)).enumerated() {
            let base = index * 128
            let units = Array(name.utf16) + [0]
            for (offset, unit) in units.enumerated() { put16(&directory, base + offset * 2, unit) }
            put16(&directory, base + 64, UInt16(units.count * 2))
            directory[base + 66] = index == 0 ? 5 : 2          // root storage, or a stream
            put32(&directory, base + 68, 0xFFFF_FFFF)
            put32(&directory, base + 72, 0xFFFF_FFFF)
            put32(&directory, base + 76, index == 0 && streams.count > 0 ? 1 : 0xFFFF_FFFF)
            put32(&directory, base + 116, 0xFFFF_FFFE)
        }
        var fat = [UInt8](repeating: 0xFF, count: 512)
        put32(&fat, 0, 0xFFFF_FFFE)    // the directory: one sector, end of chain
        put32(&fat, 4, 0xFFFF_FFFD)    // the FAT sector itself
        return Data(header + directory + fat)
    }

    private static func put16(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt16) {
        bytes[offset] = UInt8(value & 0xFF)
        bytes[offset + 1] = UInt8(value >> 8)
    }

    private static func put32(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt32) {
        for index in 0..<4 { bytes[offset + index] = UInt8((value >> (8 * UInt32(index))) & 0xFF) }
    }
}
