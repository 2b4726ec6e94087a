/// A pickle interpreter (protocols 2-5) that builds data and never runs code.
///
/// Python's unpickler imports whatever module a GLOBAL opcode names and calls it: that is how a model
/// file can run `os.system`. Here a GLOBAL is checked against `PickleAllowList` the moment it is read;
/// anything else stops loading with `ModelFormatError.disallowedPickleGlobal` naming it. Allowed classes
/// become `PickleObject` records, allowed functions are interpreted as data constructors. Every size the
/// file controls is checked against the bytes actually present before anything is allocated.
public struct Unpickler {
    private let data: UnsafeRawBufferPointer
    private var position = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private let persistentLoad: (PickleValue) throws -> PickleValue

    /// Deep structures beyond this are refused rather than exhausting memory.
    private static let maximumStackDepth = 1_000_000

    public init(data: UnsafeRawBufferPointer, persistentLoad: @escaping (PickleValue) throws -> PickleValue) {
        self.data = data
        self.persistentLoad = persistentLoad
    }

    public mutating func load() throws -> PickleValue {
        while true {
            let offset = position
            let opcode = try byte()
            switch opcode {
            case 0x80: _ = try byte()  // PROTO
            case 0x95: _ = try bytes(8)  // FRAME: framing is a hint only
            case 0x2E:  // STOP
                guard let result = stack.popLast() else { throw malformed(offset, "STOP with an empty stack") }
                return result
            case 0x28: marks.append(stack.count)  // MARK
            case 0x30: _ = try pop(offset)  // POP
            case 0x31: _ = try popMark(offset)  // POP_MARK
            case 0x32: try push(try top(offset))  // DUP
            case 0x4E: try push(.none)  // NONE
            case 0x88: try push(.bool(true))
            case 0x89: try push(.bool(false))
            case 0x4A: try push(.int(Int(Int32(bitPattern: UInt32(try littleEndian(4))))))  // BININT
            case 0x4B: try push(.int(try littleEndian(1)))  // BININT1
            case 0x4D: try push(.int(try littleEndian(2)))  // BININT2
            case 0x8A: try push(try long(count: try littleEndian(1), offset))  // LONG1
            case 0x8B: try push(try long(count: try littleEndian(4), offset))  // LONG4
            case 0x47:  // BINFLOAT (big-endian double)
                let raw = try bytes(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                try push(.float(Double(bitPattern: raw)))
            case 0x58: try push(.string(try text(count: try littleEndian(4))))  // BINUNICODE
            case 0x8C: try push(.string(try text(count: try littleEndian(1))))  // SHORT_BINUNICODE
            case 0x8D: try push(.string(try text(count: try littleEndian(8))))  // BINUNICODE8
            case 0x54: try push(.string(try text(count: try littleEndian(4))))  // BINSTRING (py2 str)
            case 0x55: try push(.string(try text(count: try littleEndian(1))))  // SHORT_BINSTRING
            case 0x42: try push(.bytes(try bytes(try littleEndian(4))))  // BINBYTES
            case 0x43: try push(.bytes(try bytes(try littleEndian(1))))  // SHORT_BINBYTES
            case 0x8E, 0x96: try push(.bytes(try bytes(try littleEndian(8))))  // BINBYTES8, BYTEARRAY8
            case 0x29: try push(.tuple([]))  // EMPTY_TUPLE
            case 0x74: try push(.tuple(try popMark(offset)))  // TUPLE
            case 0x85: try push(.tuple([try pop(offset)]))  // TUPLE1
            case 0x86:  // TUPLE2
                let second = try pop(offset), first = try pop(offset)
                try push(.tuple([first, second]))
            case 0x87:  // TUPLE3
                let third = try pop(offset), second = try pop(offset), first = try pop(offset)
                try push(.tuple([first, second, third]))
            case 0x5D: try push(.list(PickleList()))  // EMPTY_LIST
            case 0x6C: try push(.list(PickleList(try popMark(offset))))  // LIST
            case 0x61:  // APPEND
                let item = try pop(offset)
                guard case let .list(list) = try top(offset) else { throw malformed(offset, "APPEND to a non-list") }
                list.items.append(item)
            case 0x65:  // APPENDS
                let items = try popMark(offset)
                guard case let .list(list) = try top(offset) else { throw malformed(offset, "APPENDS to a non-list") }
                list.items.append(contentsOf: items)
            case 0x7D: try push(.dict(PickleDictionary()))  // EMPTY_DICT
            case 0x64:  // DICT
                let items = try popMark(offset)
                try push(.dict(try dictionary(from: items, offset)))
            case 0x73:  // SETITEM
                let value = try pop(offset), key = try pop(offset)
                guard case let .dict(dictionary) = try top(offset) else { throw malformed(offset, "SETITEM on a non-dict") }
                dictionary.set(key, value)
            case 0x75:  // SETITEMS
                let items = try popMark(offset)
                guard case let .dict(target) = try top(offset), items.count % 2 == 0 else {
                    throw malformed(offset, "SETITEMS on a non-dict")
                }
                for index in stride(from: 0, to: items.count, by: 2) { target.set(items[index], items[index + 1]) }
            case 0x8F: try push(.set([]))  // EMPTY_SET
            case 0x90:  // ADDITEMS
                let items = try popMark(offset)
                guard case let .set(existing) = try pop(offset) else { throw malformed(offset, "ADDITEMS on a non-set") }
                try push(.set(existing + items))
            case 0x91: try push(.set(try popMark(offset)))  // FROZENSET
            case 0x63:  // GLOBAL "module\nname\n"
                let module = try line(offset), name = try line(offset)
                try push(.global(try PickleAllowList.check(module: module, name: name)))
            case 0x93:  // STACK_GLOBAL
                guard let name = try pop(offset).string, let module = try pop(offset).string else {
                    throw malformed(offset, "STACK_GLOBAL needs two strings")
                }
                try push(.global(try PickleAllowList.check(module: module, name: name)))
            case 0x52:  // REDUCE
                let arguments = try pop(offset)
                guard case let .global(callable) = try pop(offset), let items = arguments.items else {
                    throw malformed(offset, "REDUCE needs an allowed callable and an argument tuple")
                }
                try push(try PickleAllowList.apply(callable, arguments: items, offset: offset))
            case 0x81:  // NEWOBJ
                let arguments = try pop(offset)
                guard case let .global(type) = try pop(offset), let items = arguments.items else {
                    throw malformed(offset, "NEWOBJ needs an allowed class and an argument tuple")
                }
                try push(try PickleAllowList.instantiate(type, arguments: items, offset: offset))
            case 0x92:  // NEWOBJ_EX
                _ = try pop(offset)  // keyword arguments: recorded by no class we allow
                let arguments = try pop(offset)
                guard case let .global(type) = try pop(offset), let items = arguments.items else {
                    throw malformed(offset, "NEWOBJ_EX needs an allowed class and arguments")
                }
                try push(try PickleAllowList.instantiate(type, arguments: items, offset: offset))
            case 0x62:  // BUILD
                let state = try pop(offset)
                switch try top(offset) {
                case let .object(object): object.state = state
                // An OrderedDict's instance attributes (`torch.save(model.state_dict())` stores
                // `_metadata` there): nothing a model is built from, so they are dropped.
                case .dict: break
                default: throw malformed(offset, "BUILD on something that is not an object")
                }
            case 0x51:  // BINPERSID
                try push(try persistentLoad(try pop(offset)))
            case 0x71: memo[try littleEndian(1)] = try top(offset)  // BINPUT
            case 0x72: memo[try littleEndian(4)] = try top(offset)  // LONG_BINPUT
            case 0x94: memo[memo.count] = try top(offset)  // MEMOIZE
            case 0x68: try push(try recall(try littleEndian(1), offset))  // BINGET
            case 0x6A: try push(try recall(try littleEndian(4), offset))  // LONG_BINGET
            default:
                // Protocol 0/1 text opcodes (INST, OBJ, PUT, GET, ...) and out-of-band buffers never
                // appear in torch.save output.
                throw ModelFormatError.unsupportedPickleOpcode(opcode: opcode, offset: offset)
            }
        }
    }

    // MARK: - Reading

    private mutating func byte() throws -> UInt8 {
        guard position < data.count else { throw malformed(position, "unexpected end of data") }
        defer { position += 1 }
        return data[position]
    }

    private mutating func bytes(_ count: Int) throws -> [UInt8] {
        guard count >= 0, count <= data.count - position else {
            throw malformed(position, "length \(count) runs past the end of the data")
        }
        defer { position += count }
        return Array(data[position..<(position + count)])
    }

    private mutating func littleEndian(_ count: Int) throws -> Int {
        let raw = try bytes(count)
        var value: UInt64 = 0
        for (index, byte) in raw.enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
        guard value <= UInt64(Int.max) else { throw malformed(position - count, "length field too large") }
        return Int(value)
    }

    private mutating func text(count: Int) throws -> String {
        String(decoding: try bytes(count), as: UTF8.self)
    }

    private mutating func line(_ offset: Int) throws -> String {
        var characters: [UInt8] = []
        while true {
            let next = try byte()
            if next == 0x0A { break }
            characters.append(next)
            if characters.count > 1024 { throw malformed(offset, "GLOBAL name longer than 1024 bytes") }
        }
        return String(decoding: characters, as: UTF8.self)
    }

    private mutating func long(count: Int, _ offset: Int) throws -> PickleValue {
        let raw = try bytes(count)
        if raw.isEmpty { return .int(0) }
        if raw.count <= 8 {
            var value: UInt64 = 0
            for (index, byte) in raw.enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
            if raw.count < 8, raw.last! & 0x80 != 0 { value |= UInt64.max << (8 * UInt64(raw.count)) }
            return .int(Int(Int64(bitPattern: value)))
        }
        return .bigInt(raw)
    }

    // MARK: - Stack

    private mutating func push(_ value: PickleValue) throws {
        guard stack.count < Self.maximumStackDepth else { throw malformed(position, "stack deeper than \(Self.maximumStackDepth)") }
        stack.append(value)
    }

    private mutating func pop(_ offset: Int) throws -> PickleValue {
        guard stack.count > (marks.last ?? 0), let value = stack.popLast() else {
            throw malformed(offset, "stack underflow")
        }
        return value
    }

    private func top(_ offset: Int) throws -> PickleValue {
        guard let value = stack.last else { throw malformed(offset, "empty stack") }
        return value
    }

    private mutating func popMark(_ offset: Int) throws -> [PickleValue] {
        guard let mark = marks.popLast(), mark <= stack.count else { throw malformed(offset, "no MARK on the stack") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private func recall(_ index: Int, _ offset: Int) throws -> PickleValue {
        guard let value = memo[index] else { throw malformed(offset, "memo entry \(index) is not defined") }
        return value
    }

    private func dictionary(from items: [PickleValue], _ offset: Int) throws -> PickleDictionary {
        guard items.count % 2 == 0 else { throw malformed(offset, "DICT with an odd number of items") }
        let result = PickleDictionary()
        for index in stride(from: 0, to: items.count, by: 2) { result.set(items[index], items[index + 1]) }
        return result
    }

    private func malformed(_ offset: Int, _ reason: String) -> ModelFormatError {
        .malformedPickle(offset: offset, reason: reason)
    }
}
