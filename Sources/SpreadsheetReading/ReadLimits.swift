/// Bounds that keep a hostile or broken file (a zip bomb, a sheet of millions of formatted cells,
/// a merged range over the whole sheet, a million-row export) from exhausting memory or time.
/// The defaults are sizes no FAQ reaches: a 100k-template FAQ (the largest the benchmarks run)
/// has a largest part of 42 MiB, 0.6 million cells and 100,000 rows, and fits each limit at
/// least twice over. Reading at the limits takes ~0.5 GB, within the unit's MemoryMax=2G; a
/// file beyond them is refused as early as its sizes are known (file size and declared part
/// sizes before reading, rows and cells while reading). docs/limits.md lists them.
package struct ReadLimits: Sendable {
    /// Most bytes one xlsx part (or a whole csv file) may hold once inflated.
    package var maxPartBytes: Int
    /// Most bytes all parts read from one package may inflate to together.
    package var maxTotalBytes: Int
    /// Most cells one sheet may have: `<c>` elements (formatted-but-empty ones included) plus
    /// every cell a merged range covers.
    package var maxCells: Int
    /// Most rows with content one sheet (or a csv file) may have.
    package var maxRows: Int
    /// Deepest element nesting accepted in an XML part; spreadsheet parts nest about ten deep.
    package var maxXMLDepth: Int

    package init(maxPartBytes: Int = 128 << 20, maxTotalBytes: Int = 256 << 20, maxCells: Int = 2_000_000,
                maxRows: Int = 200_000, maxXMLDepth: Int = 256) {
        self.maxPartBytes = maxPartBytes
        self.maxTotalBytes = maxTotalBytes
        self.maxCells = maxCells
        self.maxRows = maxRows
        self.maxXMLDepth = maxXMLDepth
    }

    /// "128 MiB", "64 KiB", "300 bytes": a size as a message shows it.
    package static func describe(bytes: Int) -> String {
        if bytes >= 1 << 20 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }
}

/// The limits of the Office Open XML spreadsheet format itself (Excel's "specifications and
/// limits"): no file Excel or LibreOffice writes goes beyond them, so anything beyond is refused
/// before it can size an allocation.
package enum SheetDimensions {
    /// Columns A…XFD.
    package static let maxColumns = 16_384
    package static let maxRows = 1_048_576
    /// Cell formats (`cellXfs`) a workbook may define; style indices beyond it are malformed.
    package static let maxStyles = 65_536
}
