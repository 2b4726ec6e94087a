/// speciesnet's taxonomy rules (`taxonomy_utils.py`). A label is
/// `uuid;class;order;family;genus;species;common name`; its "full class string" is the five taxonomic
/// fields; the taxonomy map takes a full class string to the label of that taxon.
public struct SpeciesNetTaxonomy: Sendable {
    public enum Level: String, Sendable, CaseIterable {
        case species, genus, family, order, `class`, kingdom
    }

    /// speciesnet's special labels.
    public static let blank = "f1856211-cfb7-4a5b-9158-c0f72fd09ee6;;;;;;blank"
    public static let animal = "1f689929-883d-4dae-958c-3d57ab5b6c16;;;;;;animal"
    public static let human = "990ae9dd-7a59-4344-afcb-1b7b21368000;mammalia;primates;hominidae;homo;sapiens;human"
    public static let vehicle = "e2895ed5-780b-48f6-8a11-9e27cb594511;;;;;;vehicle"
    public static let unknown = "f2efdae9-efb8-48fb-8a91-eccf79ab4ffb;no cv result;no cv result;no cv result;no cv result;no cv result;no cv result"

    public struct InvalidLabel: Error, CustomStringConvertible {
        public let label: String
        public var description: String { "expected a label of 7 `;`-separated parts, found \(label.split(separator: ";", omittingEmptySubsequences: false).count): \(label)" }
    }

    /// Full class string -> label.
    public let map: [String: String]

    public init(map: [String: String]) {
        self.map = map
    }

    /// A taxonomy file as speciesnet reads it: one label per line, keyed by its full class string.
    public init(lines: [String]) throws {
        var map: [String: String] = [:]
        for line in lines where !line.isEmpty { map[try Self.fullClassString(line)] = line }
        self.map = map
    }

    /// A model folder's taxonomy file as speciesnet's ensemble loads it: every line keyed by its full
    /// class string, then the blank, vehicle and unknown keys removed and human and animal set (blank,
    /// vehicle and animal share the empty key: it ends up meaning animal, the kingdom).
    public init(file path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var map: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let label = line.trimmingCharacters(in: .whitespacesAndNewlines)
            map[label.split(separator: ";", omittingEmptySubsequences: false).dropFirst().prefix(5).joined(separator: ";")] = label
        }
        for label in [Self.blank, Self.vehicle, Self.unknown] { map.removeValue(forKey: try Self.fullClassString(label)) }
        for label in [Self.human, Self.animal] { map[try Self.fullClassString(label)] = label }
        self.map = map
    }

    /// The reference's name for a label (`get_common_name_from_prediction_string`): the common name, or
    /// "genus species", "genus species" for a genus, "family family", ... from the most specific field.
    public static func commonName(_ label: String) throws -> String {
        let tokens = try parts(label.trimmingCharacters(in: .whitespacesAndNewlines)).map { $0.trimmingCharacters(in: .whitespaces) }
        for index in stride(from: 6, through: 0, by: -1) where !tokens[index].isEmpty {
            switch index {
            case 6: return tokens[6]
            case 5: return tokens[4].isEmpty ? tokens[5] : tokens[4] + " " + tokens[5]
            case 4: return tokens[4] + " species"
            case 3: return tokens[3] + " family"
            case 2: return tokens[2] + " order"
            case 1: return tokens[1] + " class"
            default: return tokens[0] + " category"
            }
        }
        return "empty_prediction_string"
    }

    public static func parts(_ label: String) throws -> [Substring] {
        let parts = label.split(separator: ";", omittingEmptySubsequences: false)
        guard parts.count == 7 else { throw InvalidLabel(label: label) }
        return parts
    }

    /// `class;order;family;genus;species`.
    public static func fullClassString(_ label: String) throws -> String {
        try parts(label)[1...5].joined(separator: ";")
    }

    /// The label of `label`'s ancestor at `level`, or nil where the label has no such level or the
    /// taxonomy lacks it (`get_ancestor_at_level`).
    public func ancestor(of label: String, at level: Level) throws -> String? {
        let parts = try Self.parts(label).map(String.init)
        var ancestor: [String]
        switch level {
        case .species:
            ancestor = Array(parts[1...5])
            if ancestor[4].isEmpty { return nil }
        case .genus:
            ancestor = Array(parts[1...4]) + [""]
            if ancestor[3].isEmpty { return nil }
        case .family:
            ancestor = Array(parts[1...3]) + ["", ""]
            if ancestor[2].isEmpty { return nil }
        case .order:
            ancestor = Array(parts[1...2]) + ["", "", ""]
            if ancestor[1].isEmpty { return nil }
        case .class:
            ancestor = [parts[1], "", "", "", ""]
            if ancestor[0].isEmpty { return nil }
        case .kingdom:
            ancestor = ["", "", "", "", ""]
            if parts[1].isEmpty && label != Self.animal { return nil }
        }
        return map[ancestor.joined(separator: ";")]
    }
}
