#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
/// The snapshot file layout, version 2 (version 1 is still read: it has no lexical section), and
/// version 3, a delta: rows of its own over a version 2 base file beside it, some of whose rows it
/// removes. `docs/snapshot-format.md` describes it for other languages; this type is the single
/// source of the numbers.
///
/// ```
/// offset  size  field
///      0     8  magic "FAQSNAP\0"
///      8     4  format version (1)
///     12     4  header size (256)
///     16     8  generation (grows with every publication)
///     24     8  created, milliseconds since 1970-01-01 UTC (signed)
///     32     4  dimension
///     36     4  template count
///     40     8  vectors offset   (64-byte aligned)
///     48     8  vectors length   (count * dimension * 4)
///     56     8  string index offset
///     64     8  string index length (count * 6 * 8)
///     72     8  string data offset
///     80     8  string data length
///     88     8  payload checksum: XXH64 (seed 0) of every byte from header size to end of file
///     96    64  model name, UTF-8, zero padded
///    160    32  model version, UTF-8, zero padded
///    192     8  lexical section offset (version 2; 8-byte aligned, after the string data)
///    200     8  lexical section length (version 2; the file ends with the section)
///    208     4  hybrid fusion recorded: 1, or 0 in files from before it was (version 2)
///    212     4  hybrid fusion's dense weight, float32 in 0...1 (when recorded)
///    216     8  base generation (version 3; the file <path>.base-<generation> beside it)
///    224     8  base checksum (version 3; the base header's payload checksum)
///    232     8  removed rows offset (version 3; right after the lexical section)
///    240     8  removed rows length (version 3; the file ends with them): a bitmap, bit i of
///               byte i / 8 (least significant first) set when base row i is not in the snapshot
///    248     4  average question length over every row in the snapshot, float32 (version 3)
///    252     4  average answer length over every row in the snapshot, float32 (version 3)
/// ```
/// Vectors: one row-major matrix of little-endian float32, L2-normalised rows.
/// String index: per template, six (offset u32, length u32) pairs into the string data, in field
/// order id, category, subcategory, question, answer, metadata (a JSON array of {name, value}).
/// Lexical section (version 2): see `LexicalLayout`.
public enum SnapshotLayout {
    public static let magic: [UInt8] = Array("FAQSNAP".utf8) + [0]
    /// What the encoder writes.
    public static let formatVersion: UInt32 = 2
    /// What the readers accept: version 1 files (dense only) keep working.
    public static let readableVersions: ClosedRange<UInt32> = 1...3
    /// A delta over a base file (`SegmentedSnapshot`): what the encoder writes when given one.
    public static let deltaFormatVersion: UInt32 = 3
    public static let headerSize = 256
    public static let alignment = 64
    public static let fieldsPerTemplate = 6
    public static let modelNameCapacity = 64
    public static let modelVersionCapacity = 32

    enum Offset {
        static let magic = 0
        static let formatVersion = 8
        static let headerSize = 12
        static let generation = 16
        static let createdMillis = 24
        static let dimension = 32
        static let count = 36
        static let vectorsOffset = 40
        static let vectorsLength = 48
        static let indexOffset = 56
        static let indexLength = 64
        static let stringsOffset = 72
        static let stringsLength = 80
        static let checksum = 88
        static let modelName = 96
        static let modelVersion = 160
        static let lexicalOffset = 192
        static let lexicalLength = 200
        static let fusionRecorded = 208
        static let fusionDenseWeight = 212
        static let baseGeneration = 216
        static let baseChecksum = 224
        static let removedOffset = 232
        static let removedLength = 240
        static let liveAverageQuestion = 248
        static let liveAverageAnswer = 252
    }

    /// Where a delta's base lies: beside the snapshot, named for its generation, so a reader finds
    /// it from the delta's header alone and a newer base never takes an older one's name.
    public static func basePath(of snapshotPath: String, generation: UInt64) -> String {
        "\(snapshotPath).base-\(generation)"
    }

    /// The writer's order of templates: by id, bytewise (as `String.utf8.lexicographicallyPrecedes`).
    /// Whole files are written in it, so an edit finds a template by binary search and walks the
    /// file beside its changes.
    public static func precedes(id a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        let common = min(a.count, b.count)
        if common > 0, let left = a.baseAddress, let right = b.baseAddress {
            let order = memcmp(left, right, common)
            if order != 0 { return order < 0 }
        }
        return a.count < b.count
    }

    /// Whether a removed-rows bitmap marks base row `row` (bit `row % 8` of byte `row / 8`, least
    /// significant first). The one place the bitmap's bit order is decided.
    @inline(__always)
    public static func isRemoved(_ row: Int, in bitmap: some Collection<UInt8>) -> Bool {
        bitmap[bitmap.index(bitmap.startIndex, offsetBy: row >> 3)] & (1 << UInt8(row & 7)) != 0
    }

    /// Marks base row `row` removed in a bitmap.
    public static func markRemoved(_ row: Int, in bitmap: inout [UInt8]) {
        bitmap[row >> 3] |= 1 << UInt8(row & 7)
    }

    /// The bytes of a removed-rows bitmap for `count` base rows.
    public static func removedLength(baseCount: Int) -> Int { (baseCount + 7) / 8 }

    /// The lexical section starts on this boundary.
    public static let lexicalAlignment = 8

    public enum Field: Int, CaseIterable, Sendable {
        case id = 0, category, subcategory, question, answer, metadata
    }

    /// Generations stay at or below this, so that a store can keep them as signed 64-bit
    /// integers and adding one never overflows; a file claiming more is not faqsync's.
    public static let maxGeneration = UInt64(Int64.max) - 1

    /// Creation times a header may claim: 1970 to the end of year 9999, in milliseconds. The field
    /// is outside the checksum; a time beyond these is damage, and readers print it as a date.
    public static let createdMillisRange: ClosedRange<Int64> = 0...253_402_300_799_999

    /// Largest vector the format accepts: pgvector's own limit for the `vector` type, far above
    /// any embedding model's (bge-m3: 1024), and small enough that sizes never overflow.
    public static let maxDimension = 16_000

    static func aligned(_ value: Int) -> Int { (value + alignment - 1) / alignment * alignment }

    /// Why a model's identity does not fit the header, nil when it does. The single place these
    /// limits are decided: configuration, the encoder and `versions set` all ask here.
    public static func problem(modelName: String, modelVersion: String, dimension: Int) -> String? {
        if modelName.utf8.count >= modelNameCapacity {
            return "the model name '\(modelName.prefix(80))' is \(modelName.utf8.count) bytes; a snapshot holds at most \(modelNameCapacity - 1)"
        }
        if modelVersion.utf8.count >= modelVersionCapacity {
            return "the model version '\(modelVersion.prefix(80))' is \(modelVersion.utf8.count) bytes; a snapshot holds at most \(modelVersionCapacity - 1)"
        }
        if modelName.utf8.contains(0) || modelVersion.utf8.contains(0) {
            return "the model name and version must not contain NUL characters"
        }
        if !(1...maxDimension).contains(dimension) {
            return "the dimension \(dimension) is outside 1...\(maxDimension)"
        }
        return nil
    }
}
