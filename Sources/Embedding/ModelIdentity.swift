/// What identifies the vectors a model produces: vectors of two identities are never compared.
package struct ModelIdentity: Hashable, Sendable, Codable, CustomStringConvertible {
    package let name: String
    package let version: String
    package let dimension: Int
    /// The most UTF-8 bytes a name and a version may have: what a snapshot header holds, less
    /// its terminating zero (SnapshotLayout, which this leaf module cannot see, has the same numbers).
    package static let nameCapacity = 63
    package static let versionCapacity = 31

    package init(name: String, version: String, dimension: Int) {
        self.name = name
        self.version = version
        self.dimension = dimension
    }

    package var description: String { "\(name) \(version) (\(dimension) dimensions)" }
}
