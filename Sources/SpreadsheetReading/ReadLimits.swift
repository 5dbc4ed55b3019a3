/// Bounds that keep a hostile or broken file (a zip bomb, a sheet of millions of formatted cells)
/// from exhausting memory. The defaults fit a 100k-template FAQ with room to spare.
public struct ReadLimits: Sendable {
    /// Most bytes one xlsx part may inflate to.
    public var maxPartBytes: Int
    /// Most bytes all parts read from one package may inflate to together.
    public var maxTotalBytes: Int
    /// Most cells (formatted-but-empty ones included) one sheet may have.
    public var maxCells: Int

    public init(maxPartBytes: Int = 512 << 20, maxTotalBytes: Int = 1 << 30, maxCells: Int = 20_000_000) {
        self.maxPartBytes = maxPartBytes
        self.maxTotalBytes = maxTotalBytes
        self.maxCells = maxCells
    }
}
