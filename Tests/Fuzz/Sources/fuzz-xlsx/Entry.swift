import FuzzDriver

@_cdecl("fuzz_xlsx_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(.xlsx, argc, argv)
}
