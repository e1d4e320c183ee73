import Foundation

/// libFuzzer entry points for the parsers that read what clients send (`scripts/fuzz TARGET SECONDS`).
/// Built only with `SWITCHBOARD_FUZZ=1` and `-sanitize=fuzzer,address -parse-as-library`; the target is
/// chosen by `SWITCHBOARD_FUZZ_TARGET`. A target feeds the input to a parser (and to the state machine
/// behind it, where one exists): any crash, sanitizer report, leak or hang is a finding.
enum FuzzTargets {
    static let names = ["websocket", "stomp", "engineio", "socketio", "native", "jwt", "toml", "http-security", "resp"]

    static func target(named name: String) -> ((UnsafeRawBufferPointer) -> Void)? {
        switch name {
        case "websocket": WebSocketFuzz.run
        case "stomp": STOMPFuzz.run
        case "engineio": EngineIOFuzz.run
        case "socketio": SocketIOFuzz.run
        case "native": NativeFuzz.run
        case "jwt": JWTFuzz.run
        case "toml": TOMLFuzz.run
        case "http-security": HTTPSecurityFuzz.run
        case "resp": RESPFuzz.run
        default: nil
        }
    }

    /// Set once, before libFuzzer's driver starts calling; read from its single fuzzing thread.
    nonisolated(unsafe) static var selected: ((UnsafeRawBufferPointer) -> Void)?
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTargets.selected?(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

#if SWITCHBOARD_LIBFUZZER
/// libFuzzer's driver (LLVM 11 and later): parses its flags and calls `callback` with each input.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
#endif

/// SwiftPM names an executable's entry point MODULE_main (it links `main` to it): the target is chosen,
/// then libFuzzer's driver runs (built with `-DSWITCHBOARD_LIBFUZZER` and `-sanitize=fuzzer`). Without
/// libFuzzer, the arguments are files or folders of inputs, each run once: the corpus as a regression
/// test, in an ordinary build (`scripts/fuzz replay`).
@_cdecl("SwitchboardFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    let name = ProcessInfo.processInfo.environment["SWITCHBOARD_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTargets.target(named: name) else {
        let names = FuzzTargets.names.joined(separator: ", ")
        FileHandle.standardError.write(Data("SWITCHBOARD_FUZZ_TARGET must be one of: \(names)\n".utf8))
        return 2
    }
    FuzzTargets.selected = target
    #if SWITCHBOARD_LIBFUZZER
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { fuzzOneInput($0, $1) }
    #else
    return replay(CommandLine.arguments.dropFirst(), through: target)
    #endif
}

/// Runs every input file named (or inside a folder named) through `target`, in name order.
func replay(_ paths: ArraySlice<String>, through target: (UnsafeRawBufferPointer) -> Void) -> CInt {
    let files = FileManager.default
    var inputs: [String] = []
    for path in paths {
        var isFolder: ObjCBool = false
        guard files.fileExists(atPath: path, isDirectory: &isFolder) else { continue }
        if isFolder.boolValue {
            let names = (try? files.contentsOfDirectory(atPath: path)) ?? []
            inputs += names.sorted().map { path + "/" + $0 }
        } else {
            inputs.append(path)
        }
    }
    for input in inputs {
        guard let data = files.contents(atPath: input) else {
            FileHandle.standardError.write(Data("cannot read \(input)\n".utf8))
            return 1
        }
        data.withUnsafeBytes { target($0) }
    }
    print("\(inputs.count) inputs ran")
    return 0
}
