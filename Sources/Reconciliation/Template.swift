import Crypto
import Foundation
import SystemIO
import SpreadsheetReading

/// An FAQ template ready to reconcile: its identity, its fields, the exact text sent to the
/// model, and the two hashes that decide what a change costs.
///
/// Why it exists next to `FAQRow`: identity and hashes are computed once, here, and are what
/// `Reconciler.plan` compares with the store; it has no vector yet.
///
/// The fields live in one immutable object that every copy shares: a sheet's templates pass
/// through arrays, the daemon's memo and the plan, and a copy of nine strings was nine reference
/// count operations (at 10,000 templates, a tenth of a save's work went to retains and releases).
package struct Template: Sendable, Hashable {
    private let fields: Fields
    /// Where the template was read from (1-based sheet row); not stored, used in messages.
    package private(set) var rowNumber: Int

    package var id: String { fields.id }
    package var category: String { fields.category }
    package var subcategory: String { fields.subcategory }
    package var question: String { fields.question }
    package var answer: String { fields.answer }
    /// The spreadsheet's other columns, in sheet order.
    package typealias Metadata = [MetadataEntry]
    package var metadata: [MetadataEntry] { fields.metadata }
    /// The text the model embeds (see `ModelInput`).
    package var modelInput: String { fields.modelInput }
    /// SHA-256 of `modelInput`: only a change of this costs an embedding.
    package var inputHash: String { fields.inputHash }
    /// SHA-256 of everything stored for the template: a change of this alone updates the row.
    package var contentHash: String { fields.contentHash }

    private final class Fields: Sendable {
        let id: String
        let category: String
        let subcategory: String
        let question: String
        let answer: String
        let metadata: [MetadataEntry]
        let modelInput: String
        let inputHash: String
        let contentHash: String

        init(id: String, category: String, subcategory: String, question: String, answer: String, metadata: [MetadataEntry],
             modelInput: String, inputHash: String, contentHash: String) {
            self.id = id
            self.category = category
            self.subcategory = subcategory
            self.question = question
            self.answer = answer
            self.metadata = metadata
            self.modelInput = modelInput
            self.inputHash = inputHash
            self.contentHash = contentHash
        }

        func same(as other: Fields) -> Bool {
            self === other || (id == other.id && category == other.category && subcategory == other.subcategory
                && question == other.question && answer == other.answer && metadata == other.metadata
                && modelInput == other.modelInput && inputHash == other.inputHash && contentHash == other.contentHash)
        }
    }

    package init(id: String, rowNumber: Int, category: String, subcategory: String, question: String,
                answer: String, metadata: [MetadataEntry], modelInput: ModelInput) {
        let input = modelInput.text(question: question, answer: answer)
        fields = Fields(id: id, category: category, subcategory: subcategory, question: question, answer: answer, metadata: metadata,
                        modelInput: input, inputHash: Self.inputHash(of: input),
                        contentHash: ContentHash.fields([id, category, subcategory, question, answer, input]
                                                        + metadata.flatMap { [$0.name, $0.value] }))
        self.rowNumber = rowNumber
    }

    /// The same template read from another row (a row inserted above it moves it down).
    package func at(row rowNumber: Int) -> Template {
        var moved = self
        moved.rowNumber = rowNumber
        return moved
    }

    /// The hash of a model input: the cache's key for its vector. The one definition (the legacy
    /// import keys the old system's vectors by it too).
    package static func inputHash(of modelInput: String) -> String { ContentHash.sha256Hex(modelInput) }

    /// A template as a store holds it, for copying between stores. The hashes are kept as
    /// stored: the model input they were computed from is not stored, and recomputing them
    /// could assume the wrong `ModelInput`.
    package init(restoringID id: String, category: String, subcategory: String, question: String, answer: String,
                metadata: [MetadataEntry], inputHash: String, contentHash: String) {
        fields = Fields(id: id, category: category, subcategory: subcategory, question: question, answer: answer, metadata: metadata,
                        modelInput: "", inputHash: inputHash, contentHash: contentHash)
        rowNumber = 0
    }

    package static func == (lhs: Template, rhs: Template) -> Bool {
        lhs.rowNumber == rhs.rowNumber && lhs.fields.same(as: rhs.fields)
    }

    /// Equal templates have equal identities and hashes, which is all that is hashed.
    package func hash(into hasher: inout Hasher) {
        hasher.combine(rowNumber)
        hasher.combine(fields.id)
        hasher.combine(fields.inputHash)
        hasher.combine(fields.contentHash)
    }
}

/// Which fields make up the text the model embeds.
package enum ModelInput: String, Sendable, CaseIterable, Codable {
    /// `question + " " + answer`, as the original system embedded.
    case questionAndAnswer = "question+answer"
    case question

    package func text(question: String, answer: String) -> String {
        switch self {
        case .questionAndAnswer: question + " " + answer
        case .question: question
        }
    }
}

package enum ContentHash {
    package static func sha256Hex(_ text: String) -> String {
        var hasher = SHA256()
        update(&hasher, with: text)
        return hex(hasher.finalize())
    }

    package static func sha256Hex(_ bytes: some DataProtocol) -> String {
        hex(SHA256.hash(data: bytes))
    }

    /// A hash over several fields, each length-prefixed so that ("ab", "c") ≠ ("a", "bc").
    package static func fields(_ values: [String]) -> String {
        var hasher = SHA256()
        for value in values {
            var length = UInt64(value.utf8.count).littleEndian
            withUnsafeBytes(of: &length) { hasher.update(bufferPointer: $0) }
            update(&hasher, with: value)
        }
        return hex(hasher.finalize())
    }

    /// `fields` over values that are already UTF-8 bytes.
    package static func fields(bytes values: [[UInt8]]) -> String {
        var hasher = SHA256()
        for value in values {
            var length = UInt64(value.count).littleEndian
            withUnsafeBytes(of: &length) { hasher.update(bufferPointer: $0) }
            value.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        }
        return hex(hasher.finalize())
    }

    /// Hashes a string's UTF-8 in place: native strings are contiguous, so no copy is made.
    private static func update(_ hasher: inout SHA256, with text: String) {
        var text = text
        text.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
    }

    /// The SHA-256 of the regular file at `path` as it is now, read in 1 MiB chunks. Blocking:
    /// call it on the blocking executor.
    package static func sha256Hex(ofFileAt path: String) throws -> String {
        let handle = try RegularFile.handle(path)
        defer { try? handle.close() }
        var hasher = Stream()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(chunk) }
        return hasher.finalizeHex()
    }

    /// Incremental SHA-256 of bytes read in chunks (a file), as lowercase hex.
    package struct Stream {
        private var hasher = SHA256()

        package init() {}

        package mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }
        package mutating func update(_ bytes: some DataProtocol) { hasher.update(data: bytes) }

        package func finalizeHex() -> String { ContentHash.hex(hasher.finalize()) }
    }

    /// Lowercase hex of a digest: the one formatting of hashes and signatures in the project.
    package static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var output = [UInt8]()
        output.reserveCapacity(64)
        for byte in digest {
            output.append(digits[Int(byte >> 4)])
            output.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: output, as: UTF8.self)
    }
}
