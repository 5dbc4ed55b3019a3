import CLibPQ
import Foundation

/// A result in binary format. Accessors decode by the column's wire size, so callers name the
/// Swift type they expect and get a clear error when a query returns something else.
package final class PostgresResult {
    private let handle: OpaquePointer

    init(_ handle: OpaquePointer) { self.handle = handle }
    deinit { PQclear(handle) }

    package var rowCount: Int { Int(PQntuples(handle)) }
    package var columnCount: Int { Int(PQnfields(handle)) }
    /// Rows touched by an INSERT, UPDATE or DELETE.
    package var affectedRows: Int { Int(String(cString: PQcmdTuples(handle))) ?? 0 }

    package func isNull(_ row: Int, _ column: Int) -> Bool { PQgetisnull(handle, Int32(row), Int32(column)) == 1 }

    private func bytes(_ row: Int, _ column: Int) -> UnsafeRawBufferPointer {
        let length = Int(PQgetlength(handle, Int32(row), Int32(column)))
        return UnsafeRawBufferPointer(start: PQgetvalue(handle, Int32(row), Int32(column)), count: length)
    }

    package func string(_ row: Int, _ column: Int) -> String {
        String(decoding: bytes(row, column), as: UTF8.self)
    }

    package func optionalString(_ row: Int, _ column: Int) -> String? {
        isNull(row, column) ? nil : string(row, column)
    }

    /// int2, int4 or int8.
    package func integer(_ row: Int, _ column: Int) -> Int64 {
        let buffer = bytes(row, column)
        var value: Int64 = 0
        for byte in buffer { value = value << 8 | Int64(byte) }
        switch buffer.count {
        case 2: return Int64(Int16(truncatingIfNeeded: value))
        case 4: return Int64(Int32(truncatingIfNeeded: value))
        default: return value
        }
    }

    package func int(_ row: Int, _ column: Int) -> Int { Int(integer(row, column)) }

    package func optionalInt(_ row: Int, _ column: Int) -> Int? { isNull(row, column) ? nil : int(row, column) }

    package func bool(_ row: Int, _ column: Int) -> Bool { bytes(row, column).first == 1 }

    package func date(_ row: Int, _ column: Int) -> Date {
        PostgresTimestamp.date(microseconds: integer(row, column))
    }

    /// A pgvector value; nil when the bytes are not one.
    package func vector(_ row: Int, _ column: Int) -> [Float]? {
        PostgresVectorCoding.decode(bytes(row, column))
    }
}
