/// Splitting paths (and package part names) into directory and file name, as plain string work.
///
/// Why not `NSString.deletingLastPathComponent`: in this toolchain's Foundation it traps on any
/// one-character path (`"w"`), and paths come from configuration (`--db d`) and from files (part
/// names in a workbook). These never trap.
package enum PathName {
    /// `a/b/c.db` → `a/b`; `/c.db` → `/`; `c.db` → `` (the caller decides what no directory means).
    package static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The directory to open, list or watch: `.` when the path has none.
    package static func directoryOrCurrent(of path: String) -> String {
        let directory = directory(of: path)
        return directory.isEmpty ? "." : directory
    }

    /// `a/b/c.db` → `c.db`.
    package static func fileName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
