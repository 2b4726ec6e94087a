import Foundation
import ModelFormats
import Testing

struct UnpicklerTests {
    private func load(_ bytes: [UInt8]) throws -> PickleValue {
        try bytes.withUnsafeBytes { raw in
            var unpickler = Unpickler(data: raw) { _ in .none }
            return try unpickler.load()
        }
    }

    private func string(_ text: String) -> [UInt8] {
        let utf8 = Array(text.utf8)
        return [0x8C, UInt8(utf8.count)] + utf8
    }

    private func hex(_ text: String) -> [UInt8] {
        stride(from: 0, to: text.count, by: 2).map { offset in
            let start = text.index(text.startIndex, offsetBy: offset)
            return UInt8(text[start..<text.index(start, offsetBy: 2)], radix: 16)!
        }
    }

    /// Written by CPython's pickle for
    /// {'a': [1, -2, 3.5, 2**70], 'b': ('x', True, None), 'c': s, 'd': s, 'e': b'\x00\x01', 'f': {1, 2}}
    /// with s = [7] shared (memo), at protocol 2 (GLOBAL, _codecs.encode, set REDUCE) and 4 (FRAME,
    /// MEMOIZE, SHORT_BINUNICODE, EMPTY_SET/ADDITEMS).
    static let pythonPickles = [
        "80027d71002858010000006171015d7102284b014afeffffff47400c0000000000008a090000000000000000406558010000006271035801000000787104884e87710558010000006371065d71074b0761580100000064710868075801000000657109635f636f646563730a656e636f64650a710a58020000000001710b58060000006c6174696e31710c86710d52710e580100000066710f635f5f6275696c74696e5f5f0a7365740a71105d7111284b014b0265857112527113752e",
        "80049558000000000000007d94288c0161945d94284b014afeffffff47400c0000000000008a09000000000000000040658c0162948c017894884e87948c0163945d944b07618c01649468078c01659443020001948c0166948f94284b014b0290752e",
    ]

    @Test(arguments: pythonPickles)
    func buildsPlainDataLikePython(_ pickle: String) throws {
        let dictionary = try #require(try load(hex(pickle)).dictionary)
        let list = try #require(dictionary["a"]?.items)
        #expect(list.prefix(3).compactMap(\.double) == [1, -2, 3.5])
        if case let .bigInt(bytes) = list[3] { #expect(bytes == [0, 0, 0, 0, 0, 0, 0, 0, 0x40]) } else { Issue.record("2**70") }
        let tuple = try #require(dictionary["b"]?.items)
        #expect(tuple.count == 3)
        #expect(tuple[0].string == "x")
        #expect(tuple[1].bool == true)
        // The shared list is one object: memo GET returns the same reference.
        guard case let .list(c)? = dictionary["c"], case let .list(d)? = dictionary["d"] else { Issue.record("lists"); return }
        #expect(c === d && c.items.first?.int == 7)
        if case let .bytes(bytes)? = dictionary["e"] { #expect(bytes == [0, 1]) } else { Issue.record("bytes") }
        #expect(dictionary["f"]?.items?.compactMap(\.int).sorted() == [1, 2])
    }

    @Test func longIntegers() throws {
        #expect(try load([0x80, 0x02, 0x8A, 0x02, 0x00, 0x80, 0x2E]).int == -32768)
        #expect(try load([0x80, 0x02, 0x8A, 0x01, 0x7F, 0x2E]).int == 127)
    }

    @Test(arguments: [("os", "system"), ("builtins", "eval"), ("subprocess", "Popen"), ("posix", "system"),
                      ("models.yolo", "EvilModel"), ("torch", "load"), ("torch.fx.graph_module", "_forward_from_src")])
    func refusesGlobalsOutsideTheAllowList(module: String, name: String) throws {
        let bytes: [UInt8] = [0x80, 0x02, 0x63] + Array("\(module)\n\(name)\n".utf8) + [0x29, 0x52, 0x2E]
        #expect(throws: ModelFormatError.disallowedPickleGlobal(module: module, name: name)) { try load(bytes) }
    }

    /// `getattr` is allowed for one thing only: naming torch's add/sub/mul/div, which onnx2torch modules
    /// hold as data. Any other lookup is refused.
    @Test func getattrOnlyNamesTorchArithmetic() throws {
        func lookup(_ name: String) -> [UInt8] {
            [0x80, 0x02, 0x63] + Array("builtins\ngetattr\n".utf8) + [0x63] + Array("torch._C\n_VariableFunctionsClass\n".utf8)
                + string(name) + [0x86, 0x52, 0x2E]
        }
        guard case let .global(function) = try load(lookup("mul")) else { Issue.record("not a global"); return }
        #expect(function.description == "torch.mul")
        for name in ["load", "from_file", "__class__"] {
            #expect(throws: ModelFormatError.self) { try load(lookup(name)) }
        }
    }

    @Test func stackGlobalIsCheckedToo() throws {
        let bytes: [UInt8] = [0x80, 0x04] + string("os") + string("system") + [0x93, 0x29, 0x52, 0x2E]
        #expect(throws: ModelFormatError.disallowedPickleGlobal(module: "os", name: "system")) { try load(bytes) }
    }

    @Test func allowsYOLOv5ClassesUnderBothPrefixes() throws {
        for module in ["models.common", "yolov5.models.common"] {
            let bytes: [UInt8] = [0x80, 0x02, 0x63] + Array("\(module)\nConv\n".utf8) + [0x29, 0x81, 0x7D, 0x62, 0x2E]
            #expect(try load(bytes).object?.type.name == "Conv")
        }
    }

    @Test func malformedInputsFailWithOffsets() {
        // A string claiming 4 GB, a truncated stream, an undefined memo entry, a stray opcode.
        #expect(throws: ModelFormatError.self) { try load([0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0xFF, 0x61]) }
        #expect(throws: ModelFormatError.self) { try load([0x80, 0x02, 0x5D]) }
        #expect(throws: ModelFormatError.self) { try load([0x80, 0x02, 0x68, 0x05, 0x2E]) }
        #expect(throws: ModelFormatError.unsupportedPickleOpcode(opcode: 0x69, offset: 2)) { try load([0x80, 0x02, 0x69, 0x2E]) }
        #expect(throws: ModelFormatError.self) { try load([0x80, 0x02, 0x61, 0x2E]) }
    }

    @Test func halfPrecisionConversionIsExact() {
        #expect(TorchCheckpoint.halfToFloat(0x3C00) == 1)
        #expect(TorchCheckpoint.halfToFloat(0xC000) == -2)
        #expect(TorchCheckpoint.halfToFloat(0x0001) == Float(pow(2.0, -24.0)))  // smallest subnormal
        #expect(TorchCheckpoint.halfToFloat(0x7BFF) == 65504)
        #expect(TorchCheckpoint.halfToFloat(0x7C00) == .infinity)
        #expect(TorchCheckpoint.halfToFloat(0x7E00).isNaN)
    }
}
