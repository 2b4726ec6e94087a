import Foundation

/// Python's `round(x, places)`, as the reference's writers round numbers: correctly rounded from the
/// double's exact binary value, ties to even (what C's printf does too, hence the formatting).
public enum PythonRounding {
    public static func round(_ value: Double, places: Int) -> Double {
        guard value.isFinite else { return value }
        return Double(String(format: "%.\(places)f", value)) ?? value
    }
}

extension JSONValue {
    /// Every float at any depth rounded as Python's `round(x, places)` (the reference's
    /// `round_floats_in_nested_dict`, speciesnet's `limit_float_precision`); integers stay integers.
    public func roundingFloats(places: Int) -> JSONValue {
        switch self {
        case let .double(number): return .double(PythonRounding.round(number, places: places))
        case let .array(items): return .array(items.map { $0.roundingFloats(places: places) })
        case let .object(object): return .object(JSONObject(object.entries.map { ($0.key, $0.value.roundingFloats(places: places)) }))
        default: return self
        }
    }
}
