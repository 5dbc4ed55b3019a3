import Foundation

/// A statement parameter. Text for scalars (PostgreSQL parses them against the column type);
/// binary for vectors, in pgvector's wire format.
package enum PostgresValue: Sendable {
    case text(String)
    case integer(Int64)
    case bool(Bool)
    case timestamp(Date)
    case vector([Float])
    /// A `text[]` literal, for `= ANY($n::text[])`.
    case textArray([String])

    package static func int(_ value: Int) -> PostgresValue { .integer(Int64(value)) }

    /// `{"a","b"}`, each element quoted with `\\` and `"` escaped.
    static func arrayLiteral(_ values: [String]) -> String {
        let elements = values.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        return "{" + elements.joined(separator: ",") + "}"
    }

    struct Encoded {
        let bytes: [UInt8]
        let isBinary: Bool
    }

    func encoded() -> Encoded {
        switch self {
        case .text(let value): Encoded(bytes: Array(value.utf8), isBinary: false)
        case .integer(let value): Encoded(bytes: Array(String(value).utf8), isBinary: false)
        case .bool(let value): Encoded(bytes: Array((value ? "true" : "false").utf8), isBinary: false)
        case .timestamp(let date): Encoded(bytes: Array(PostgresTimestamp.text(date).utf8), isBinary: false)
        case .vector(let values): Encoded(bytes: PostgresVectorCoding.binary(values), isBinary: true)
        case .textArray(let values):
            Encoded(bytes: Array(Self.arrayLiteral(values).utf8), isBinary: false)
        }
    }
}

/// pgvector's binary format: int16 dimension, int16 unused, then big-endian float4s.
package enum PostgresVectorCoding {
    package static func binary(_ values: [Float]) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(4 + values.count * 4)
        append(values, to: &bytes)
        return bytes
    }

    static func append(_ values: [Float], to bytes: inout [UInt8]) {
        let dimension = UInt16(values.count)
        bytes.append(UInt8(dimension >> 8)); bytes.append(UInt8(dimension & 0xff))
        bytes.append(0); bytes.append(0)
        for value in values {
            let bits = value.bitPattern
            bytes.append(UInt8(bits >> 24)); bytes.append(UInt8((bits >> 16) & 0xff))
            bytes.append(UInt8((bits >> 8) & 0xff)); bytes.append(UInt8(bits & 0xff))
        }
    }

    static func decode(_ buffer: UnsafeRawBufferPointer) -> [Float]? {
        guard buffer.count >= 4 else { return nil }
        let dimension = Int(buffer[0]) << 8 | Int(buffer[1])
        guard buffer.count == 4 + dimension * 4 else { return nil }
        return [Float](unsafeUninitializedCapacity: dimension) { output, count in
            for index in 0..<dimension {
                let offset = 4 + index * 4
                let bits = UInt32(buffer[offset]) << 24 | UInt32(buffer[offset + 1]) << 16 | UInt32(buffer[offset + 2]) << 8 | UInt32(buffer[offset + 3])
                output[index] = Float(bitPattern: bits)
            }
            count = dimension
        }
    }
}

/// timestamptz: microseconds since 2000-01-01 UTC on the wire; ISO 8601 text as a parameter.
enum PostgresTimestamp {
    static let epochOffset: TimeInterval = 946_684_800

    static func text(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(.colon).timeZone(separator: .omitted))
    }

    static func microseconds(_ date: Date) -> Int64 {
        Int64(((date.timeIntervalSince1970 - epochOffset) * 1_000_000).rounded())
    }

    static func date(microseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(microseconds) / 1_000_000 + epochOffset)
    }
}
