import Foundation

/// Ways to damage a snapshot file's header so that its numbers lie, for the tests that check a
/// reader refuses such a file instead of trapping. Offsets are the documented format's
/// (docs/snapshot-format.md); each damage keeps the payload, so the checksum still matches.
package enum SnapshotHeaderDamage: String, CaseIterable, Sendable {
    /// count and dimension at their maximum: count × dimension × 4 overflows 64 bits.
    case countTimesDimensionOverflows
    /// Offsets near 2^64: as signed integers they are negative.
    case offsetsBeyondInt64
    /// A string data length that, added to its offset, wraps around.
    case lengthWrapsAround
    /// A generation no publisher writes; adding one to it would overflow.
    case maximumGeneration
    /// A vectors offset that is not 64-byte aligned.
    case misalignedVectors
    /// A lexical section (format version 2) that does not start on its 8-byte boundary.
    case misalignedLexicalSection
    /// A lexical section length that, added to its offset, wraps around.
    case lexicalLengthWrapsAround

    package func apply(to data: Data) -> Data {
        var bytes = [UInt8](data)
        func put32(_ value: UInt32, at offset: Int) { withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<(offset + 4), with: $0) } }
        func put64(_ value: UInt64, at offset: Int) { withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<(offset + 8), with: $0) } }
        switch self {
        case .countTimesDimensionOverflows:
            put32(.max, at: 32)
            put32(.max, at: 36)
        case .offsetsBeyondInt64:
            for offset in stride(from: 40, through: 80, by: 8) { put64(.max - 7, at: offset) }
        case .lengthWrapsAround:
            put64(.max - 100, at: 80)
        case .maximumGeneration:
            put64(.max, at: 16)
        case .misalignedVectors:
            put64(257, at: 40)
        case .misalignedLexicalSection:
            let offset = bytes[192..<200].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            put64(offset + 1, at: 192)
        case .lexicalLengthWrapsAround:
            put64(.max - 100, at: 200)
        }
        return Data(bytes)
    }
}
