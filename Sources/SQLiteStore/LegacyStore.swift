import CodedErrors
import Embedding
import Foundation
import GRDB
import TemplateStore

/// The original Python system's SQLite store (`embedding_versions`, `embedding_records`, vectors
/// as numpy `.npy` BLOBs), read-only, for `faqsync import-legacy`.
package struct LegacyStore: Sendable {
    package struct Record: Sendable {
        package let templateID: String
        package let question: String
        package let answer: String
        package let vector: [Float]
    }

    package struct Contents: Sendable {
        package let model: ModelIdentity
        package let records: [Record]
    }

    package let path: String

    package init(path: String) { self.path = path }

    /// - Throws: `StoreError` naming the file when it is not that schema or a vector is not a
    ///   float32 `.npy` array of the version's dimension.
    package func read() throws -> Contents {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError(code: .openFailed, location: path, message: "the file does not exist")
        }
        var configuration = Configuration.faqsync()
        configuration.readonly = true
        let queue: DatabaseQueue
        do { queue = try DatabaseQueue(path: path, configuration: configuration) } catch {
            throw StoreError(code: .notADatabase, location: path, message: "the file is not an SQLite database", underlying: CapturedError(error))
        }
        defer { try? queue.close() }
        do {
            return try queue.read { db in
                let expected = [("embedding_versions", ["version_id", "model_name", "model_version", "embedding_dimension", "is_current"]),
                                ("embedding_records", ["template_id", "version_id", "embedding_vector", "question_text", "answer_text"])]
                for (table, columns) in expected {
                    guard try db.tableExists(table) else {
                        throw notLegacy("it has no table \(table)")
                    }
                    let present = Set(try db.columns(in: table).map(\.name))
                    let missing = columns.filter { !present.contains($0) }
                    guard missing.isEmpty else { throw notLegacy("table \(table) lacks \(missing.joined(separator: ", "))") }
                }
                guard let version = try Row.fetchOne(db, sql: """
                    SELECT version_id, model_name, model_version, embedding_dimension FROM embedding_versions
                    ORDER BY is_current DESC, version_id DESC LIMIT 1
                    """) else { throw notLegacy("it has no embedding version") }
                let model = ModelIdentity(name: version["model_name"], version: version["model_version"], dimension: version["embedding_dimension"])
                let rows = try Row.fetchAll(db, sql: """
                    SELECT template_id, question_text, answer_text, embedding_vector FROM embedding_records WHERE version_id = ? ORDER BY template_id
                    """, arguments: [version["version_id"] as Int64])
                let records = try rows.map { row -> Record in
                    let id: String = row["template_id"]
                    let blob: Data = row["embedding_vector"]
                    guard let vector = NumpyArray.float32Vector(blob), vector.count == model.dimension else {
                        throw StoreError(code: .invalidVector, location: path,
                                         message: "record \(id) is not a float32 .npy vector of \(model.dimension) values")
                    }
                    return Record(templateID: id, question: row["question_text"], answer: row["answer_text"], vector: vector)
                }
                return Contents(model: model, records: records)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(code: .readFailed, location: path, message: "the legacy store could not be read", underlying: CapturedError(error))
        }
    }

    private func notLegacy(_ detail: String) -> StoreError {
        StoreError(code: .notADatabase, location: path,
                   message: "this is not the original system's embedding store: \(detail)",
                   hint: "import-legacy reads the Python system's SQLite file (tables embedding_versions and embedding_records)")
    }
}

/// Just enough of numpy's `.npy` format for a 1-D little-endian float32 array.
enum NumpyArray {
    static func float32Vector(_ data: Data) -> [Float]? {
        let bytes = [UInt8](data)
        guard bytes.count > 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else { return nil }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        if major == 1 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        } else {
            guard bytes.count > 12 else { return nil }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        }
        guard headerStart + headerLength <= bytes.count else { return nil }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard header.contains("'descr': '<f4'"), header.contains("'fortran_order': False"),
              let shapeStart = header.range(of: "'shape': (")?.upperBound,
              let shapeEnd = header[shapeStart...].firstIndex(of: ")") else { return nil }
        let dimensions = header[shapeStart..<shapeEnd].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard dimensions.count == 1 else { return nil }
        let payload = bytes[(headerStart + headerLength)...]
        return VectorCoding.decode(payload, dimension: dimensions[0])
    }
}
