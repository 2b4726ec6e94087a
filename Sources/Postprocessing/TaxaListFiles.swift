import Foundation
import ResultsFormat

/// A custom species list as `restrict_to_taxa_list` reads it with pandas: a header row with `latin` and
/// `common` (and optionally `original_common`), cells stripped, pandas' NA spellings empty, names
/// lower-cased; rows without a latin name dropped; the first of repeated latin names kept.
struct TaxaListFile {
    /// latin -> common, in file order.
    var latinToCommon: [(latin: String, common: String)] = []

    static let missingValues: Set<String> = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                                             "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]

    init(csv text: String, options: TaxaListRestriction.Options) throws {
        let rows = Self.records(text).filter { !($0.count == 1 && $0[0].isEmpty) }
        guard let header = rows.first else { throw TaxaListRestriction.Failure.taxaList("empty file") }
        guard let latinColumn = header.firstIndex(of: "latin"), let commonColumn = header.firstIndex(of: "common") else {
            throw TaxaListRestriction.Failure.taxaList("a header with latin and common columns is needed, found \(header)")
        }
        let originalColumn = header.firstIndex(of: "original_common")
        func cell(_ row: [String], _ column: Int) -> String {
            let raw = column < row.count ? row[column] : ""
            return Self.missingValues.contains(raw) ? "" : raw.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var seen: Set<String> = []
        for row in rows.dropFirst() {
            let latin = cell(row, latinColumn).lowercased()
            guard !latin.isEmpty else { continue }
            var common = cell(row, commonColumn).lowercased()
            if options.useOriginalCommonNamesIfAvailable, let originalColumn, !cell(row, originalColumn).isEmpty {
                common = cell(row, originalColumn).lowercased()
            }
            let words = latin.split(separator: " ", omittingEmptySubsequences: false).count
            guard (1...3).contains(words) else { throw TaxaListRestriction.Failure.taxaList("\(latin) is not a name of one to three words") }
            if seen.contains(latin) {
                if options.allowRedundantLatinNames { continue }
                throw TaxaListRestriction.Failure.taxaList("\(latin) appears twice")
            }
            seen.insert(latin)
            latinToCommon.append((latin, common))
        }
    }

    /// RFC 4180 records: commas, double quotes around fields that hold commas, quotes or line breaks.
    static func records(_ text: String) -> [[String]] {
        var records: [[String]] = [], fields: [String] = [], field = ""
        var quoted = false, characters = Array(text.replacingOccurrences(of: "\r\n", with: "\n")), index = 0
        if characters.first == "\u{FEFF}" { characters.removeFirst() }
        while index < characters.count {
            let character = characters[index]
            if quoted {
                if character == "\"" {
                    if index + 1 < characters.count, characters[index + 1] == "\"" { field.append("\""); index += 1 } else { quoted = false }
                } else {
                    field.append(character)
                }
            } else if character == "\"" {
                quoted = true
            } else if character == "," {
                fields.append(field)
                field = ""
            } else if character == "\n" {
                fields.append(field)
                records.append(fields)
                (fields, field) = ([], "")
            } else {
                field.append(character)
            }
            index += 1
        }
        if !field.isEmpty || !fields.isEmpty { records.append(fields + [field]) }
        return records
    }
}

/// The taxonomy file as `restrict_to_taxa_list` indexes it: each line's latin name (binomial, genus,
/// family, order or class) -> the line with its GUID replaced by `guid`; missing ancestors added as
/// `<name> species` lines; and the tree of what the species list allows.
struct TaxonomyTree {
    /// Latin name -> taxon line (GUID replaced by `guid`), and the names in insertion order.
    var latinToTaxon: [String: String] = [:]
    var latinOrder: [String] = []
    var latinToOutputCommon: [String: String] = [:]
    /// Listed latin name -> its listed children; a nil member marks a leaf of the list.
    var allowed: [String: Set<String?>] = [:]

    init(text: String, targets: TaxaListFile) throws {
        var parents: Set<String> = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let label = line.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !label.isEmpty else { continue }
            try insert(label)
        }
        for latin in latinOrder where !latin.contains("no cv result") {
            let tokens = latinToTaxon[latin]!.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
            for level in 1...4 where !tokens[level].isEmpty && latinToTaxon[tokens[level]] == nil {
                let fields = ["guid"] + Array(tokens[1...level]) + Array(repeating: "", count: 5 - level) + [tokens[level] + " species"]
                parents.insert(fields.joined(separator: ";"))
            }
        }
        for parent in parents.sorted(by: { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }) { try insert(parent) }
        for (latin, common) in targets.latinToCommon where latinToTaxon[latin] != nil { latinToOutputCommon[latin] = common }
        let missing = targets.latinToCommon.map(\.latin).filter { latinToTaxon[$0] == nil }
        guard missing.isEmpty else { throw TaxaListRestriction.Failure.notInTaxonomy(missing) }
        for (latin, _) in targets.latinToCommon { try allow(latin) }
    }

    /// Indexes one line under its most specific latin name; the first line of a name wins.
    mutating func insert(_ label: String) throws {
        var tokens = label.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        guard tokens.count == 7 else { throw TaxaListRestriction.Failure.taxonomy("expected 7 ;-separated parts: \(label)") }
        tokens[0] = "guid"
        let text = tokens.joined(separator: ";")
        let key: String
        if tokens[1].isEmpty {
            guard ["animal", "vehicle", "blank"].contains(tokens[6]) else { throw TaxaListRestriction.Failure.taxonomy("a line without a class: \(label)") }
            return
        } else if !tokens[5].isEmpty {
            key = tokens[4] + " " + tokens[5]
        } else {
            key = [tokens[4], tokens[3], tokens[2], tokens[1]].first { !$0.isEmpty }!
        }
        if latinToTaxon[key] == nil {
            latinToTaxon[key] = text
            latinOrder.append(key)
        }
    }

    /// One listed name and its ancestors into `allowed` (§6.3 of the reference's logic).
    mutating func allow(_ latin: String) throws {
        let tokens = (latinToTaxon[latin] ?? "").split(separator: ";", omittingEmptySubsequences: false).dropFirst().prefix(5).map(String.init)
        var child: String?
        if !tokens[4].isEmpty {
            let binomial = tokens[3] + " " + tokens[4]
            allowed[binomial, default: []].insert(nil)
            child = binomial
        }
        for index in stride(from: 3, through: 0, by: -1) {
            let parent = tokens[index]
            if parent.isEmpty { continue }
            if let child {
                if allowed[parent]?.contains(nil) == true { allowed[parent] = [] }
                allowed[parent, default: []].insert(child)
            } else if !(allowed[parent].map { !$0.isEmpty } ?? false) {
                allowed[parent, default: []].insert(nil)
            }
            child = parent
        }
    }

    /// The output taxon string of one input description (§6.4).
    func target(for description: String, options: TaxaListRestriction.Options) throws -> String {
        let tokens = description.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        guard tokens.count == 7 else { throw TaxaListRestriction.Failure.results("a description of \(tokens.count) parts: \(description)") }
        let human = "990ae9dd-7a59-4344-afcb-1b7b21368000;mammalia;primates;hominidae;homo;sapiens;human"
        if try ClassificationSmoothing.taxonomyLevel(description) == 0 || description == human { return description }
        if let protected = options.protectedCommonNames, protected.contains(tokens[6]) { return description }
        for index in stride(from: 4, through: 0, by: -1) {
            let name = index == 4 && !tokens[5].isEmpty ? tokens[4] + " " + tokens[5] : tokens[index + 1]
            if name.isEmpty { continue }
            guard latinToTaxon[name] != nil else { throw TaxaListRestriction.Failure.taxonomy("\(name) (from \(description)) is not in it") }
            guard var kids = allowed[name] else { continue }
            var target = name
            if options.allowWalkDown, !kids.contains(nil), kids.count == 1 {
                while kids.count == 1, let only = kids.first, let next = only {
                    target = next
                    kids = allowed[next] ?? []
                }
            }
            return latinToTaxon[target] ?? description
        }
        return "1f689929-883d-4dae-958c-3d57ab5b6c16;;;;;;animal"
    }
}
