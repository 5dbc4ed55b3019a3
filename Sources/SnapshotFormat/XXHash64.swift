/// XXH64, the 64-bit xxHash. Chosen for the snapshot checksum because a reader must verify a
/// whole file (400 MB at 100k × 1024) before switching to it, and a cryptographic hash would
/// take most of a second where XXH64 runs near memory speed. It guards against torn or damaged
/// files, not against an attacker who can write the snapshot directory.
public enum XXHash64 {
    private static let prime1: UInt64 = 11_400_714_785_074_694_791
    private static let prime2: UInt64 = 14_029_467_366_897_019_727
    private static let prime3: UInt64 = 1_609_587_929_392_839_161
    private static let prime4: UInt64 = 9_650_029_242_287_828_579
    private static let prime5: UInt64 = 2_870_177_450_012_600_261

    @inline(__always) private static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    @inline(__always) private static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        rotl(acc &+ input &* prime2, 31) &* prime1
    }

    @inline(__always) private static func merge(_ acc: UInt64, _ value: UInt64) -> UInt64 {
        (acc ^ round(0, value)) &* prime1 &+ prime4
    }

    public static func hash(_ buffer: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let length = buffer.count
        guard let base = buffer.baseAddress else { return finalize(seed &+ prime5, length: 0, tail: buffer, from: 0) }
        var index = 0
        var acc: UInt64
        if length >= 32 {
            var v1 = seed &+ prime1 &+ prime2, v2 = seed &+ prime2, v3 = seed, v4 = seed &- prime1
            while index + 32 <= length {
                v1 = round(v1, UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self)))
                v2 = round(v2, UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index + 8, as: UInt64.self)))
                v3 = round(v3, UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index + 16, as: UInt64.self)))
                v4 = round(v4, UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index + 24, as: UInt64.self)))
                index += 32
            }
            acc = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
            acc = merge(acc, v1); acc = merge(acc, v2); acc = merge(acc, v3); acc = merge(acc, v4)
        } else {
            acc = seed &+ prime5
        }
        return finalize(acc &+ UInt64(length), length: length, tail: buffer, from: index)
    }

    private static func finalize(_ seed: UInt64, length: Int, tail buffer: UnsafeRawBufferPointer, from start: Int) -> UInt64 {
        var acc = seed
        var index = start
        while index + 8 <= length {
            let lane = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            acc ^= round(0, lane)
            acc = rotl(acc, 27) &* prime1 &+ prime4
            index += 8
        }
        if index + 4 <= length {
            acc ^= UInt64(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: index, as: UInt32.self))) &* prime1
            acc = rotl(acc, 23) &* prime2 &+ prime3
            index += 4
        }
        while index < length {
            acc ^= UInt64(buffer[index]) &* prime5
            acc = rotl(acc, 11) &* prime1
            index += 1
        }
        acc ^= acc >> 33
        acc &*= prime2
        acc ^= acc >> 29
        acc &*= prime3
        acc ^= acc >> 32
        return acc
    }
}
