import FuzzDriver

@_cdecl("fuzz_snapshot_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(.snapshot, argc, argv)
}
