import Dispatch
import Foundation
import PathNames
import SystemIO
import SnapshotFormat
import TextAnalysis

/// Writes snapshot files atomically, each the next generation: readers see the old file or the
/// new one, never a part. (`SnapshotPublication` in SyncEngine decides what the store publishes
/// and records it as a `PublishedSnapshot`; this type only writes the file.)
///
/// `AtomicFile` does the replacing (temporary file, fsync, rename, fsync of the directory).
/// Blocking: call it from a thread of your own.
package struct SnapshotFileWriter: Sendable {
    package let path: String
    /// Readers are typically other users in the same group (mode 0440).
    // Read-only even for its owner: the writer replaces it by rename and never writes into it, and an
    // operator restoring a backup with `cp` over it is stopped (a file changed in place under a
    // reader's mapping tears its answers); `faqsync snapshot install` is the way.
    package static let fileMode: mode_t = 0o440

    package init(path: String) {
        self.path = path
    }

    /// The generation of the file at `path` when it is a valid snapshot, checksum included. Nil
    /// when there is none or it is unreadable or invalid (damaged, foreign, a generation no
    /// publisher could have written): the store remembers the generation, so nothing is lost.
    package func existingGeneration() -> UInt64? {
        currentFile()?.view.header.generation
    }

    /// The file at `path` mapped, when it is a valid snapshot (checksum included); nil otherwise.
    /// A caller that needs both the generation and the templates maps once, with this.
    package func currentFile() -> SnapshotMapping? {
        try? SnapshotMapping(path: path)
    }

    /// The generation of the file being replaced: taken from `known` (a mapping the caller made
    /// of this path) when that is still the very file at `path` (same device and inode; it was
    /// validated when it was mapped), so a large snapshot is not mapped and checksummed a second
    /// time; else read from the file.
    func generationBeingReplaced(known: SnapshotMapping?) -> UInt64? {
        if let known, known.path == path, let atPath = FileIdentity.of(path: path), atPath.isSameFile(as: known.identity) {
            return known.view.header.generation
        }
        return existingGeneration()
    }

    /// Writes and publishes a snapshot whose generation is above both `minimumGeneration - 1` and
    /// the generation of the (valid) file being replaced.
    ///
    /// - Parameter lexicalIndex: build the lexical section (format version 2), the default;
    ///   false writes a version 1 file, for the tests of readers that must keep reading those.
    /// - Parameter current: the file at `path` as the caller already mapped it, to read the
    ///   generation being replaced from.
    package func publish(model: SnapshotEncoder.Model, templates: [SnapshotTemplate], minimumGeneration: UInt64,
                        now: Date = Date(), lexicalIndex: Bool = true, current: SnapshotMapping? = nil) throws -> UInt64 {
        try publish(model: model, rows: SnapshotRows(templates), minimumGeneration: minimumGeneration, now: now,
                    lexicalIndex: lexicalIndex, current: current)
    }

    /// `publish(…templates:…)` for rows some of which are copied from a base snapshot (usually
    /// the file being replaced): their bytes, vectors and terms are taken from it as they are.
    ///
    /// - Parameter stop: raised, the publication stops with `CancellationError` at its next
    ///   checkpoint, up to the moment the new file would replace the old one (never after).
    package func publish(model: SnapshotEncoder.Model, rows: SnapshotRows, minimumGeneration: UInt64,
                        now: Date = Date(), lexicalIndex: Bool = true, current: SnapshotMapping? = nil,
                        stop: CancellationFlag? = nil) throws -> UInt64 {
        try stop?.check()
        let generation = try nextGeneration(minimumGeneration, replacing: rows.base ?? current)
        try replace(generation: generation, now: now, model: model, rows: rows, delta: nil, lexicalIndex: lexicalIndex, stop: stop)
        removeBases(except: nil)
        return generation
    }

    /// Publishes a delta (format version 3) over `base`: `rows` are the delta's own. The base gets
    /// its second name beside the path first (a hard link: no byte is copied), so a reader that
    /// opens the delta finds it; bases no delta at the path names any more are removed after.
    package func publishDelta(model: SnapshotEncoder.Model, rows: SnapshotRows, over delta: DeltaBase, base: SnapshotMapping,
                             minimumGeneration: UInt64, now: Date = Date()) throws -> UInt64 {
        let generation = try nextGeneration(minimumGeneration, replacing: rows.base)
        let basePath = SnapshotLayout.basePath(of: path, generation: delta.generation)
        if !(FileIdentity.of(path: basePath)?.isSameFile(as: base.identity) ?? false) {
            // A file of that name that is not this base (left by a failed publication) goes.
            if unlink(basePath) != 0 && errno != ENOENT {
                throw DeltaNotPossible(reason: "removing \(basePath) failed: \(String(cString: strerror(errno)))")
            }
            do { try base.link(as: basePath) } catch { throw DeltaNotPossible(reason: "\(error)") }
        }
        // The directory is synced after the rename: that makes the link durable with it.
        try replace(generation: generation, now: now, model: model, rows: rows, delta: delta, lexicalIndex: true)
        removeBases(except: delta.generation)
        return generation
    }

    /// The generation to publish: above `minimumGeneration - 1` and the (valid) file being replaced.
    private func nextGeneration(_ minimumGeneration: UInt64, replacing known: SnapshotMapping?) throws -> UInt64 {
        let generation = max(minimumGeneration, (generationBeingReplaced(known: known) ?? 0) + 1)
        guard generation <= SnapshotLayout.maxGeneration else {
            throw SnapshotError(code: .inconsistent, path: path, message: "the next generation \(generation) is beyond \(SnapshotLayout.maxGeneration)")
        }
        return generation
    }

    /// Encodes `rows` (a delta when `delta` is given) into a temporary file and renames it over
    /// the path (`AtomicFile`).
    private func replace(generation: UInt64, now: Date, model: SnapshotEncoder.Model, rows: SnapshotRows, delta: DeltaBase?,
                         lexicalIndex: Bool, stop: CancellationFlag? = nil) throws {
        let path = self.path
        do {
            try AtomicFile(path: path, mode: Self.fileMode).replace(beforePublishing: { try stop?.check() }) { descriptor, temporary in
                try SnapshotEncoder.write(to: descriptor, path: temporary, generation: generation,
                                          createdMillis: Int64(now.timeIntervalSince1970 * 1000), model: model, rows: rows, delta: delta,
                                          checkpoint: { try stop?.check() },
                                          lexicalSection: { lexicalIndex ? try Self.lexicalSection(of: rows, path: path, stop: stop) : nil })
            }
        } catch let failure as AtomicFile.Failure {
            throw SnapshotError(code: .io, path: path, message: "\(failure.action) failed: \(failure.reason)")
        }
    }

    /// Why a delta could not be published here: its base could not be given its name beside the
    /// path (a filesystem without hard links, no /proc, something else in the way). Nothing was
    /// published; the caller publishes a whole file instead.
    package struct DeltaNotPossible: Error, CustomStringConvertible {
        package let reason: String
        package var description: String { "a delta cannot be published here: \(reason)" }
    }

    /// Removes the base files beside the path (`<path>.base-<generation>`) except `kept`'s. A
    /// reader still serving a delta over one keeps it mapped: the file goes when it lets go.
    func removeBases(except kept: UInt64?) {
        let directory = PathName.directoryOrCurrent(of: path)
        let prefix = PathName.fileName(of: path) + ".base-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let generation = UInt64(name.dropFirst(prefix.count)), generation != kept else { continue }
            unlink("\(directory)/\(name)")
        }
    }

    /// What `install(from:)` did.
    package struct Installation: Sendable, Encodable {
        package let sourceGeneration: UInt64
        package let generation: UInt64
        package let templates: Int
        package let model: String

        enum CodingKeys: String, CodingKey {
            case sourceGeneration = "source_generation", generation, templates, model
        }
    }

    /// Publishes the snapshot in `file` (a backup, another host's copy) at this path, the safe way
    /// to do what `cp FILE SNAPSHOT_PATH` would do unsafely. The file is validated (checksum
    /// included), its templates are read and re-published atomically under the next generation,
    /// so readers switch to it like to any new snapshot, whatever generation the backup had.
    package func install(from file: String, now: Date = Date()) throws -> Installation {
        let source = try SnapshotMapping(path: file)
        let view = source.view
        // A delta is installed as the whole snapshot it and its base make.
        let contents = source.contents
        var templates = (0..<contents.count).map { index in
            let (view, row) = contents.locate(index)
            return SnapshotTemplate(view: view, index: row)
        }
        // In the writer's order (a delta's own rows follow its base's), so the next edit walks it.
        if contents.isDelta { templates.sort { $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) } }
        // What was read is what was validated only if the file did not change meanwhile.
        try source.checkIntact()
        let header = view.header
        let generation = try publish(model: .init(name: header.modelName, version: header.modelVersion, dimension: header.dimension,
                                                  hybridDenseWeight: header.hybridDenseWeight),
                                     templates: templates, minimumGeneration: 1, now: now, lexicalIndex: contents.lexical != nil)
        return Installation(sourceGeneration: header.generation, generation: generation, templates: templates.count,
                            model: "\(header.modelName) \(header.modelVersion)")
    }

    /// The lexical section of `rows`: a base row's terms, and those of a template whose question
    /// and answer the base holds (`termsAt`), are taken from the base's section; the others are
    /// tokenised, in parallel chunks.
    package static func lexicalSection(of rows: SnapshotRows, path: String, stop: CancellationFlag? = nil) throws -> LexicalSectionBytes {
        let termsAt = rows.reusedTerms
        // Inverting the base's section takes time proportional to the base: only when a row
        // takes its terms from it (a delta's edits over a 100,000-template base often do not).
        var reuse = termsAt.contains { $0 != nil } ? rows.base?.view.lexical.map(LexicalReuse.init) : nil
        var tokenised: [SnapshotTemplate] = []
        for (row, found) in zip(rows.rows, termsAt) where found == nil {
            switch row {
            case .template(let template, _): tokenised.append(template)
            // A base row whose terms the base's section lacks (a version 1 base): its texts.
            case .base(let index): tokenised.append(SnapshotTemplate(view: rows.base!.view, index: index))
            }
        }
        let fresh = terms(of: tokenised, stop: stop)
        try stop?.check()
        var builder = LexicalIndexBuilder(expectedTemplates: rows.count)
        var nextFresh = 0
        for (number, found) in termsAt.enumerated() {
            if number % 4_096 == 0 { try stop?.check() }
            // An index is only found where the base has a section, so where `reuse` exists.
            if let found, reuse != nil {
                builder.add(templateAt: found, of: &reuse!)
            } else {
                builder.add(fresh[nextFresh])
                nextFresh += 1
            }
        }
        return try builder.section(path: path)
    }

    /// Each template's question and answer terms, tokenised in parallel chunks (a tokenizer per
    /// chunk: Snowball's stemmers are not thread-safe).
    /// A raised `stop` skips the chunks not begun (the caller checks it after).
    static func terms(of templates: [SnapshotTemplate], stop: CancellationFlag? = nil) -> [LexicalIndexBuilder.FieldTerms] {
        let chunkSize = 1_024
        let chunks = (templates.count + chunkSize - 1) / chunkSize
        let results = ChunkedTerms(count: chunks)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            if stop?.isRaised == true { return }
            let tokenizer = Tokenizer()
            let range = (chunk * chunkSize)..<min(templates.count, (chunk + 1) * chunkSize)
            results.store(chunk, templates[range].map {
                LexicalIndexBuilder.FieldTerms(question: tokenizer.terms(in: $0.question), answer: tokenizer.terms(in: $0.answer))
            })
        }
        return results.joined()
    }
}

/// Per-chunk results written from `concurrentPerform`: each slot has one writer and is read only
/// after all chunks finished, hence `@unchecked Sendable`.
private final class ChunkedTerms: @unchecked Sendable {
    private var slots: [[LexicalIndexBuilder.FieldTerms]]
    init(count: Int) { slots = Array(repeating: [], count: count) }
    func store(_ index: Int, _ terms: [LexicalIndexBuilder.FieldTerms]) { slots.withUnsafeMutableBufferPointer { $0[index] = terms } }
    func joined() -> [LexicalIndexBuilder.FieldTerms] { slots.flatMap { $0 } }
}
