/// A strict JSON parser (RFC 8259) producing `JSONValue`; errors carry the line and column.
public struct JSONParser {
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let line: Int
        public let column: Int
        public let reason: String
        public var description: String { "invalid JSON at line \(line), column \(column): \(reason)" }
    }

    private let bytes: [UInt8]
    private var position = 0
    private var depth = 0

    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.value()
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.failure("unexpected text after the document") }
        return value
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private func failure(_ reason: String) -> Failure {
        var line = 1, column = 1
        for byte in bytes[..<min(position, bytes.count)] {
            if byte == 0x0A { line += 1; column = 1 } else { column += 1 }
        }
        return Failure(line: line, column: column, reason: reason)
    }

    private mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    private mutating func value() throws -> JSONValue {
        guard position < bytes.count else { throw failure("unexpected end of data") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "N"): try literal("NaN"); return .double(.nan)  // Python writes these
        case UInt8(ascii: "I"): try literal("Infinity"); return .double(.infinity)
        default: return try number()
        }
    }

    private mutating func literal(_ text: String) throws {
        let expected = Array(text.utf8)
        guard position + expected.count <= bytes.count, Array(bytes[position..<(position + expected.count)]) == expected else {
            throw failure("unexpected character")
        }
        position += expected.count
    }

    private mutating func nested<T>(_ body: (inout JSONParser) throws -> T) throws -> T {
        depth += 1
        defer { depth -= 1 }
        guard depth < 512 else { throw failure("nesting deeper than 512 levels") }
        return try body(&self)
    }

    private mutating func object() throws -> JSONValue {
        try nested { parser in
            parser.position += 1
            var object = JSONObject()
            parser.skipWhitespace()
            if parser.position < parser.bytes.count, parser.bytes[parser.position] == UInt8(ascii: "}") {
                parser.position += 1
                return .object(object)
            }
            while true {
                parser.skipWhitespace()
                guard parser.position < parser.bytes.count, parser.bytes[parser.position] == UInt8(ascii: "\"") else {
                    throw parser.failure("expected a string key")
                }
                let key = try parser.string()
                parser.skipWhitespace()
                guard parser.position < parser.bytes.count, parser.bytes[parser.position] == UInt8(ascii: ":") else {
                    throw parser.failure("expected ':'")
                }
                parser.position += 1
                parser.skipWhitespace()
                object[key] = try parser.value()
                parser.skipWhitespace()
                guard parser.position < parser.bytes.count else { throw parser.failure("unterminated object") }
                if parser.bytes[parser.position] == UInt8(ascii: ",") { parser.position += 1; continue }
                if parser.bytes[parser.position] == UInt8(ascii: "}") { parser.position += 1; return .object(object) }
                throw parser.failure("expected ',' or '}'")
            }
        }
    }

    private mutating func array() throws -> JSONValue {
        try nested { parser in
            parser.position += 1
            var items: [JSONValue] = []
            parser.skipWhitespace()
            if parser.position < parser.bytes.count, parser.bytes[parser.position] == UInt8(ascii: "]") {
                parser.position += 1
                return .array(items)
            }
            while true {
                parser.skipWhitespace()
                items.append(try parser.value())
                parser.skipWhitespace()
                guard parser.position < parser.bytes.count else { throw parser.failure("unterminated array") }
                if parser.bytes[parser.position] == UInt8(ascii: ",") { parser.position += 1; continue }
                if parser.bytes[parser.position] == UInt8(ascii: "]") { parser.position += 1; return .array(items) }
                throw parser.failure("expected ',' or ']'")
            }
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard position + 4 <= bytes.count, let value = UInt32(String(decoding: bytes[position..<(position + 4)], as: UTF8.self), radix: 16) else {
            throw failure("bad \\u escape")
        }
        position += 4
        return value
    }

    private mutating func string() throws -> String {
        position += 1
        var scalars = String.UnicodeScalarView()
        var run: [UInt8] = []
        func flush() {
            scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars)
            run.removeAll(keepingCapacity: true)
        }
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                flush()
                return String(scalars)
            }
            if byte < 0x20 { throw failure("control character in string") }
            if byte != UInt8(ascii: "\\") {
                run.append(byte)
                position += 1
                continue
            }
            flush()
            position += 1
            guard position < bytes.count else { break }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800..<0xDC00).contains(code), position + 6 <= bytes.count, bytes[position] == UInt8(ascii: "\\"),
                   bytes[position + 1] == UInt8(ascii: "u") {
                    position += 2
                    let low = try hex4()
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
            default: throw failure("bad escape")
            }
        }
        throw failure("unterminated string")
    }

    private mutating func number() throws -> JSONValue {
        let start = position
        var isFloat = false
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
        while position < bytes.count {
            let byte = bytes[position]
            if (0x30...0x39).contains(byte) { position += 1; continue }
            if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") || byte == UInt8(ascii: "+")
                || (byte == UInt8(ascii: "-") && position > start) {
                isFloat = true
                position += 1
                continue
            }
            break
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        if !isFloat, let value = Int(text) { return .int(value) }
        guard !text.isEmpty, let value = Double(text) else {
            position = start
            throw failure("invalid value")
        }
        return .double(value)
    }
}
