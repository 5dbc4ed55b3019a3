/// What identifies the vectors a model produces: vectors of two identities are never compared.
public struct ModelIdentity: Hashable, Sendable, Codable, CustomStringConvertible {
    public let name: String
    public let version: String
    public let dimension: Int

    public init(name: String, version: String, dimension: Int) {
        self.name = name
        self.version = version
        self.dimension = dimension
    }

    public var description: String { "\(name) \(version) (\(dimension) dimensions)" }
}
