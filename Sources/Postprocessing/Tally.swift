/// How often each key occurs, most frequent first, ties in order of first appearance: what the
/// reference gets from a dict of counts sorted by value with Python's stable `sorted(..., reverse=True)`.
enum Tally {
    static func counts<S: Sequence>(_ keys: S) -> [(key: String, count: Int)] where S.Element == String {
        var order: [String] = [], counts: [String: Int] = [:]
        for key in keys {
            if counts[key] == nil { order.append(key) }
            counts[key, default: 0] += 1
        }
        return order.enumerated().sorted { counts[$0.element]! != counts[$1.element]! ? counts[$0.element]! > counts[$1.element]! : $0.offset < $1.offset }
            .map { ($0.element, counts[$0.element]!) }
    }
}
