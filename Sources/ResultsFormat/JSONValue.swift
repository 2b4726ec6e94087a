/// A JSON document that keeps what MegaDetector files depend on and Foundation's parser loses: key
/// order (the reference writes `images`, `detection_categories`, `info`, and per image `file`,
/// `detections`, ...) and the difference between `1` and `1.0` (the validator requires float `conf`).
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public var string: String? { if case let .string(value) = self { return value } else { return nil } }
    public var array: [JSONValue]? { if case let .array(value) = self { return value } else { return nil } }
    public var object: JSONObject? { if case let .object(value) = self { return value } else { return nil } }
    public var isNull: Bool { self == .null }

    /// Any number as a Double.
    public var number: Double? {
        switch self {
        case let .int(value): return Double(value)
        case let .double(value): return value
        default: return nil
        }
    }
}

/// A JSON object with its keys in document order.
public struct JSONObject: Equatable, Sendable {
    public private(set) var entries: [(key: String, value: JSONValue)] = []

    public init(_ entries: [(String, JSONValue)] = []) {
        for (key, value) in entries { self[key] = value }
    }

    public subscript(_ key: String) -> JSONValue? {
        get { entries.first { $0.key == key }?.value }
        set {
            if let index = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[index].value = newValue } else { entries.remove(at: index) }
            } else if let newValue {
                entries.append((key, newValue))
            }
        }
    }

    public var keys: [String] { entries.map(\.key) }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.entries.count == rhs.entries.count && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}
