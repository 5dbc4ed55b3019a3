/// Vectors as stored: contiguous little-endian float32, 4 bytes per value.
package enum VectorCoding {
    package static func encode(_ vector: [Float]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: vector.count * 4)
        bytes.withUnsafeMutableBytes { raw in
            for (index, value) in vector.enumerated() {
                raw.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: index * 4, as: UInt32.self)
            }
        }
        return bytes
    }

    /// Nil when the byte count is not `dimension * 4`.
    package static func decode<Bytes: Collection>(_ bytes: Bytes, dimension: Int) -> [Float]? where Bytes.Element == UInt8 {
        guard bytes.count == dimension * 4 else { return nil }
        let contiguous = Array(bytes)
        return contiguous.withUnsafeBytes { raw in
            (0..<dimension).map { index in
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
            }
        }
    }

    package static func l2Normalized(_ vector: [Float]) -> [Float] {
        let norm = vector.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0 else { return vector }
        return vector.map { $0 / norm }
    }

    package static func dot(_ a: [Float], _ b: [Float]) -> Float {
        // Callers compare vectors of one model (both validated to its dimension): a mismatch
        // is a programming error, not input.
        precondition(a.count == b.count)
        var sum: Float = 0
        for index in a.indices { sum += a[index] * b[index] }
        return sum
    }
}
