/// A row as a reader found it: only the cells that have a value, in ascending column order.
///
/// Sparse on purpose: a row whose one cell sits in column XFD costs one entry, not 16,384.
struct RawRow {
    let number: Int
    private(set) var cells: [RawCell]

    init(number: Int, cells: [RawCell]) {
        self.number = number
        self.cells = cells
    }

    /// Builds a row from cells in the order a file listed them: sorted by column, and for a
    /// column listed twice the later value wins (as Excel and LibreOffice read it).
    init(number: Int, unorderedCells: [RawCell]) {
        self.number = number
        var isOrdered = true
        for index in unorderedCells.indices.dropFirst() where unorderedCells[index - 1].column >= unorderedCells[index].column {
            isOrdered = false
            break
        }
        if isOrdered {
            cells = unorderedCells
        } else {
            var byColumn: [Int: RawCell] = [:]
            for cell in unorderedCells { byColumn[cell.column] = cell }
            cells = byColumn.sorted { $0.key < $1.key }.map(\.value)
        }
    }

    /// Gives the cells that refer to a shared string by index (`RawCell(column:sharedString:)`)
    /// their text; `outOfRange` makes the error for an index past the end of `strings`.
    mutating func resolveSharedStrings(_ strings: [String], outOfRange: (_ cell: RawCell) -> any Error) throws {
        for position in cells.indices {
            guard let index = cells[position].sharedString else { continue }
            guard index < strings.count else { throw outOfRange(cells[position]) }
            cells[position] = RawCell(column: cells[position].column, text: strings[index])
        }
    }

    /// The text of the cell in `column` (0-based), nil when it has none.
    subscript(column: Int) -> String? {
        var low = 0, high = cells.count
        while low < high {
            let middle = (low + high) / 2
            if cells[middle].column < column { low = middle + 1 } else { high = middle }
        }
        return low < cells.count && cells[low].column == column ? cells[low].text : nil
    }

    var hasContent: Bool { cells.contains { !$0.text.isBlank } }
}

struct RawCell {
    /// 0-based.
    let column: Int
    let text: String
    /// The shared string the cell refers to while its text is not looked up yet (xlsx: the
    /// sheet is parsed beside its shared strings, `RawRow.resolveSharedStrings`); `text` is then
    /// the index as the file wrote it, for the error when there is no such string. nil otherwise.
    let sharedString: Int?

    init(column: Int, text: String) {
        self.column = column
        self.text = text
        sharedString = nil
    }

    init(column: Int, sharedString: Int, asWritten: String) {
        self.column = column
        text = asWritten
        self.sharedString = sharedString
    }
}

/// A merged area of cells (xlsx only), 1-based rows and 0-based columns like `RawRow`.
struct MergedRange: Equatable {
    let rows: ClosedRange<Int>
    let columns: ClosedRange<Int>

    /// How many cells the range covers; both sides are within the sheet's limits, so this
    /// cannot overflow (at most 2^34).
    var cellCount: Int { rows.count * columns.count }
}
