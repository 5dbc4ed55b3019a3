/// What identifies the vectors a model produces: vectors of two identities are never compared.
package struct ModelIdentity: Hashable, Sendable, Codable, CustomStringConvertible {
    package let name: String
    package let version: String
    package let dimension: Int

    package init(name: String, version: String, dimension: Int) {
        self.name = name
        self.version = version
        self.dimension = dimension
    }

    package var description: String { "\(name) \(version) (\(dimension) dimensions)" }
}
