import Foundation

/// Encodes rows for `COPY ... FROM STDIN (FORMAT binary)` and hands them to the connection in
/// chunks. Each `row` call writes the field count, then one value per field in column order.
package struct PostgresCopyWriter {
    private var buffer: [UInt8] = []
    private let send: ([UInt8]) throws -> Void
    private static let chunkSize = 1 << 20

    init(send: @escaping ([UInt8]) throws -> Void) {
        self.send = send
        // Signature, flags, header extension length.
        buffer.append(contentsOf: Array("PGCOPY\n".utf8) + [0xff, 0x0d, 0x0a, 0x00])
        append32(0)
        append32(0)
    }

    package enum Field {
        case text(String)
        case integer(Int64)
        case timestamp(Date)
        case vector([Float])
        case null
    }

    package mutating func row(_ fields: [Field]) throws {
        append16(UInt16(fields.count))
        for field in fields {
            switch field {
            case .text(let value):
                var value = value
                value.withUTF8 { utf8 in
                    append32(UInt32(utf8.count))
                    buffer.append(contentsOf: utf8)
                }
            case .integer(let value):
                append32(8)
                append64(UInt64(bitPattern: value))
            case .timestamp(let date):
                append32(8)
                append64(UInt64(bitPattern: PostgresTimestamp.microseconds(date)))
            case .vector(let values):
                append32(UInt32(4 + values.count * 4))
                PostgresVectorCoding.append(values, to: &buffer)
            case .null:
                append32(UInt32(bitPattern: -1))
            }
        }
        if buffer.count >= Self.chunkSize { try flush() }
    }

    mutating func finish() throws {
        append16(UInt16(bitPattern: -1))
        try flush()
    }

    private mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try send(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    private mutating func append16(_ value: UInt16) {
        buffer.append(UInt8(value >> 8)); buffer.append(UInt8(value & 0xff))
    }

    private mutating func append32(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { buffer.append(UInt8((value >> UInt32(shift)) & 0xff)) }
    }

    private mutating func append64(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { buffer.append(UInt8((value >> UInt64(shift)) & 0xff)) }
    }
}
