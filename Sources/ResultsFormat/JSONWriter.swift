/// Serialises `JSONValue` exactly as Python's `json.dump(obj, indent=1, ensure_ascii=True)` does (the
/// reference writer): one space per level, `", "`-free item separators with newlines, `": "` after
/// keys, `\uXXXX` for everything outside ASCII, and Python's `repr` for floats. `asciiOnly: false` is
/// `ensure_ascii=False` (speciesnet's writer): text as it is, only quotes, backslashes and control
/// characters escaped.
public enum JSONWriter {
    public static func serialize(_ value: JSONValue, indent: Int? = 1, asciiOnly: Bool = true) -> String {
        var output = ""
        write(value, level: 0, indent: indent, asciiOnly: asciiOnly, into: &output)
        return output
    }

    /// `value` as it appears nested `level` deep in a larger document (its inner lines indented to
    /// match), for writers that emit a document piece by piece.
    public static func serialize(_ value: JSONValue, indent: Int?, level: Int) -> String {
        var output = ""
        write(value, level: level, indent: indent, asciiOnly: true, into: &output)
        return output
    }

    private static func write(_ value: JSONValue, level: Int, indent: Int?, asciiOnly: Bool, into out: inout String) {
        switch value {
        case .null: out += "null"
        case let .bool(flag): out += flag ? "true" : "false"
        case let .int(number): out += String(number)
        case let .double(number): out += pythonRepr(number)
        case let .string(text): writeString(text, asciiOnly: asciiOnly, into: &out)
        case let .array(items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += indent == nil ? ", " : "," }
                newline(level + 1, indent, &out)
                write(item, level: level + 1, indent: indent, asciiOnly: asciiOnly, into: &out)
            }
            newline(level, indent, &out)
            out += "]"
        case let .object(object):
            if object.entries.isEmpty { out += "{}"; return }
            out += "{"
            for (index, entry) in object.entries.enumerated() {
                if index > 0 { out += indent == nil ? ", " : "," }
                newline(level + 1, indent, &out)
                writeString(entry.key, asciiOnly: asciiOnly, into: &out)
                out += ": "
                write(entry.value, level: level + 1, indent: indent, asciiOnly: asciiOnly, into: &out)
            }
            newline(level, indent, &out)
            out += "}"
        }
    }

    private static func newline(_ level: Int, _ indent: Int?, _ out: inout String) {
        guard let indent else { return }
        out += "\n"
        out += String(repeating: " ", count: level * indent)
    }

    private static func writeString(_ text: String, asciiOnly: Bool, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || (asciiOnly && scalar.value > 0x7E) {
                    if scalar.value > 0xFFFF {
                        let value = scalar.value - 0x10000
                        out += hex(0xD800 + (value >> 10)) + hex(0xDC00 + (value & 0x3FF))
                    } else {
                        out += hex(scalar.value)
                    }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
    }

    /// Python's `repr(float)`: the shortest digits that round-trip, positional when the decimal
    /// exponent is in [-4, 16), otherwise `d.ddde±XX`; positional values always show a fraction.
    public static func pythonRepr(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }
        // Swift's description is also shortest round-trip; take its digits and exponent.
        let (negative, digits, exponent) = decompose(value)
        let sign = negative ? "-" : ""
        let decimalPoint = exponent + 1  // value = 0.d1d2... * 10^decimalPoint
        if decimalPoint > -4 && decimalPoint <= 16 {
            if decimalPoint <= 0 {
                return sign + "0." + String(repeating: "0", count: -decimalPoint) + digits
            }
            if decimalPoint >= digits.count {
                return sign + digits + String(repeating: "0", count: decimalPoint - digits.count) + ".0"
            }
            let index = digits.index(digits.startIndex, offsetBy: decimalPoint)
            return sign + digits[..<index] + "." + digits[index...]
        }
        let mantissa = digits.count == 1 ? digits : String(digits.prefix(1)) + "." + digits.dropFirst()
        let exponentText = String(abs(exponent))
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (exponentText.count < 2 ? "0" : "") + exponentText
    }

    /// Shortest round-trip significant digits and the decimal exponent of the first digit.
    static func decompose(_ value: Double) -> (negative: Bool, digits: String, exponent: Int) {
        var text = "\(abs(value))"
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = String(text[..<e])
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let integer = String(parts[0]), fraction = parts.count > 1 ? String(parts[1]) : ""
        var digits = integer + fraction
        var pointAfter = integer.count + exponent  // digits before the decimal point
        while digits.hasPrefix("0"), digits.count > 1 {
            digits.removeFirst()
            pointAfter -= 1
        }
        while digits.hasSuffix("0"), digits.count > 1 { digits.removeLast() }
        return (value < 0, digits, pointAfter - 1)
    }
}
