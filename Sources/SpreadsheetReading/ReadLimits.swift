/// Bounds that keep a hostile or broken file (a zip bomb, a sheet of millions of formatted cells,
/// a merged range over the whole sheet) from exhausting memory or time. The defaults fit a
/// 100k-template FAQ several times over: its largest part inflates to 42 MiB and it has 0.6
/// million cells.
package struct ReadLimits: Sendable {
    /// Most bytes one xlsx part (or a whole csv file) may hold once inflated.
    package var maxPartBytes: Int
    /// Most bytes all parts read from one package may inflate to together.
    package var maxTotalBytes: Int
    /// Most cells one sheet may have: `<c>` elements (formatted-but-empty ones included) plus
    /// every cell a merged range covers.
    package var maxCells: Int
    /// Deepest element nesting accepted in an XML part; spreadsheet parts nest about ten deep.
    package var maxXMLDepth: Int

    package init(maxPartBytes: Int = 256 << 20, maxTotalBytes: Int = 512 << 20, maxCells: Int = 10_000_000,
                maxXMLDepth: Int = 256) {
        self.maxPartBytes = maxPartBytes
        self.maxTotalBytes = maxTotalBytes
        self.maxCells = maxCells
        self.maxXMLDepth = maxXMLDepth
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
