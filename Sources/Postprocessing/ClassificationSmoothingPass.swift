import Foundation
import ResultsFormat

extension ClassificationSmoothing {
    /// One detection's top classification as smoothing sees it. A detection pooled twice (a file listed
    /// twice in a sequence) is one item, so a change made through one place is seen through the other,
    /// as with the reference's shared dictionaries.
    struct Item {
        var id: String
        let score: Double
        let relevant: Bool
        let image: Int, detection: Int
    }

    /// `_prepare_results_for_smoothing` and the smoothing passes over its items.
    struct Preparation {
        var document: JSONObject
        var images: [JSONValue]
        let options: Options
        var items: [Item] = []
        /// Item indices per image (detections with a classification only), in detection order.
        var itemsOfImage: [[Int]] = []
        var imageIndex: [String: Int] = [:]
        var otherIDs: Set<String> = []
        var single: [String: String]?
        var clean: [String: String]?

        var photoPools: [[Int]] { itemsOfImage }

        init(_ document: JSONObject, options: Options) throws {
            self.document = document
            self.options = options
            images = document["images"]?.array ?? []
            guard let categories = document["classification_categories"]?.object else { throw Failure.noClassificationCategories }
            var nameToID: [String: String] = [:]
            for entry in categories.entries { if let name = entry.value.string { nameToID[name] = entry.key } }
            // In the option's order, as the reference lists them (only membership matters here).
            for name in options.otherCategoryNames { if let id = nameToID[name] { otherIDs.insert(id) } }
            var smoothedCategories: Set<String>?
            if let names = options.detectionCategoryNamesToSmooth {
                var detectionIDs: [String: String] = [:]
                for entry in document["detection_categories"]?.object?.entries ?? [] { if let name = entry.value.string { detectionIDs[name] = entry.key } }
                smoothedCategories = Set(try names.map { name in
                    guard let id = detectionIDs[name] else { throw Failure.unknownDetectionCategory(name) }
                    return id
                })
            }
            if let descriptions = document["classification_category_descriptions"]?.object {
                var single: [String: String] = [:], clean: [String: String] = [:]
                for entry in descriptions.entries {
                    let first = String((entry.value.string ?? "").split(separator: "|", omittingEmptySubsequences: false).first ?? "")
                    single[entry.key] = first
                    clean[entry.key] = try Self.cleanTaxonomy(first)
                }
                self.single = single
                self.clean = clean
            }
            for imageIndex in images.indices {
                guard var image = images[imageIndex].object else { itemsOfImage.append([]); continue }
                let file = image["file"]?.string ?? ""
                if self.imageIndex[file] != nil { throw Failure.duplicateFile(file) }
                self.imageIndex[file] = imageIndex
                var indices: [Int] = []
                if var detections = image["detections"]?.array, !detections.isEmpty {
                    for detectionIndex in detections.indices {
                        guard var detection = detections[detectionIndex].object, let classifications = detection["classifications"] else { continue }
                        guard let list = classifications.array else { throw Failure.invalidClassifications(file: file) }
                        if list.isEmpty {
                            detection["classifications"] = nil
                        } else {
                            let pairs = list.map { $0.array ?? [] }
                            guard pairs.allSatisfy({ $0.count >= 2 && $0[0].string != nil && $0[1].number != nil }) else {
                                throw Failure.invalidClassifications(file: file)
                            }
                            let scores = pairs.map { $0[1].number! }
                            guard zip(scores, scores.dropFirst()).allSatisfy({ $0 >= $1 }) else { throw Failure.unsortedClassifications(file: file) }
                            detection["classifications"] = .array([list[0]])
                            let conf = detection["conf"]?.number ?? 0
                            let category = detection["category"]?.string ?? ""
                            let relevant = conf >= options.detectionConfidenceThreshold && (smoothedCategories?.contains(category) ?? true)
                            indices.append(items.count)
                            items.append(Item(id: pairs[0][0].string!, score: scores[0], relevant: relevant, image: imageIndex, detection: detectionIndex))
                        }
                        detections[detectionIndex] = .object(detection)
                    }
                    image["detections"] = .array(detections)
                    if options.addPreSmoothingDescription, let single {
                        image["pre_smoothing_description"] = .string(try descriptionString(counts(indices), descriptions: single))
                    }
                    images[imageIndex] = .object(image)
                }
                itemsOfImage.append(indices)
            }
        }

        /// `clean_taxonomy_string(s).strip(';').lower()`: the five taxonomic fields of a lower-case
        /// 5- or 7-part string, outer semicolons removed.
        static func cleanTaxonomy(_ text: String) throws -> String {
            let tokens = text.split(separator: ";", omittingEmptySubsequences: false)
            guard text == text.lowercased(), tokens.count == 5 || tokens.count == 7 else { throw Failure.invalidTaxonomyString(text) }
            let middle = tokens.count == 5 ? text : tokens[1..<6].joined(separator: ";")
            return String(middle.drop(while: { $0 == ";" }).reversed().drop(while: { $0 == ";" }).reversed()).lowercased()
        }

        func above(_ item: Item) -> Bool { item.score >= options.classificationConfidenceThreshold }

        /// `count_detections_by_classification_category`: by count, most first; ties in order of first count.
        func counts(_ pool: [Int]) -> [(id: String, count: Int)] {
            Tally.counts(pool.lazy.filter { items[$0].relevant && above(items[$0]) }.map { items[$0].id }).map { ($0.key, $0.count) }
        }

        func cleaned(_ id: String) throws -> String {
            guard let text = clean?[id] else { throw Failure.missingDescription(id: id) }
            return text
        }

        func described(_ id: String) throws -> String {
            guard let text = single?[id] else { throw Failure.missingDescription(id: id) }
            return text
        }

        /// `_smooth_classifications_for_list_of_detections`: steps 1-4 over one pool of items.
        mutating func smooth(_ pool: [Int]) throws {
            var counts = self.counts(pool)
            guard counts.count > 1 else { return }
            var keys = counts.map(\.id)
            // The reference's tie rule: an "other" label tied with the next one yields first place.
            if otherIDs.contains(keys[0]), !otherIDs.contains(keys[1]), counts[0].count == counts[1].count { keys.swapAt(0, 1) }
            var dominant = keys[0]
            var maxCount = counts.first { $0.id == dominant }!.count
            let eligible = pool.filter { items[$0].relevant }
            // Step 1: "other" labels become the dominant species.
            if maxCount >= options.minDetectionsToOverwriteOther, !otherIDs.contains(dominant) {
                for index in eligible where above(items[index]) && otherIDs.contains(items[index].id) { items[index].id = dominant }
            }
            func recount() {
                counts = self.counts(pool)
                dominant = counts.first?.id ?? ""
                maxCount = counts.first?.count ?? 0
            }
            recount()
            // Step 2: rare species (not descendants of the dominant one) become the dominant one.
            var taxonomic = clean.map { !$0.isEmpty } ?? false && counts.count > 1
            if !otherIDs.contains(dominant), maxCount >= options.minDetectionsToOverwriteSecondary {
                let frozen = Dictionary(uniqueKeysWithValues: counts.map { ($0.id, $0.count) })
                for index in eligible where items[index].id != dominant && above(items[index]) {
                    if taxonomic {
                        let d = try cleaned(dominant), t = try cleaned(items[index].id)
                        if t.isEmpty || ClassificationSmoothing.isSubstring(d, of: t) { continue }
                    }
                    let count = frozen[items[index].id] ?? 0
                    if maxCount > count, count <= options.maxDetectionsNondominantClass { items[index].id = dominant }
                }
            }
            recount()
            // Step 3: a parent taxon becomes its best-scoring descendant present (level, then count).
            taxonomic = clean.map { !$0.isEmpty } ?? false && counts.count > 1
            if taxonomic, options.propagateClassificationsThroughTaxonomy {
                let frozen = counts
                for index in eligible where above(items[index]) {
                    let this = items[index].id, t = try cleaned(this)
                    if t.isEmpty { continue }
                    var best: String?, bestScore = -Double.infinity
                    for (candidate, count) in frozen where candidate != this {
                        let u = try cleaned(candidate)
                        if u.isEmpty || u == t || !ClassificationSmoothing.isSubstring(t, of: u) { continue }
                        let score = Double(try ClassificationSmoothing.taxonomyLevel(try described(candidate))) * options.taxonomyPropagationLevelWeight
                            + Double(count) * options.taxonomyPropagationCountWeight
                        if best == nil || score > bestScore { (best, bestScore) = (candidate, score) }
                    }
                    if let best { items[index].id = best }
                }
            }
            recount()
            // Step 4: within-family smoothing (off with the reference's default limit of -1).
            guard taxonomic else { return }
            let dominantText = try described(dominant)
            let dominantTokens = dominantText.split(separator: ";", omittingEmptySubsequences: false)
            guard dominantTokens.count == 7 else { throw Failure.invalidTaxonomyString(dominantText) }
            let dominantLevel = try ClassificationSmoothing.taxonomyLevel(dominantText)
            guard options.minDetectionsToOverwriteSecondarySameFamily > 0, !otherIDs.contains(dominant), dominantLevel > 5,
                  maxCount >= options.minDetectionsToOverwriteSecondarySameFamily else { return }
            let frozen = Dictionary(uniqueKeysWithValues: counts.map { ($0.id, $0.count) })
            for index in eligible where items[index].id != dominant && above(items[index]) {
                let count = frozen[items[index].id] ?? 0
                if count > options.maxDetectionsNondominantClassSameFamily || count == maxCount { continue }
                let text = try described(items[index].id)
                let tokens = text.split(separator: ";", omittingEmptySubsequences: false)
                guard tokens.count == 7 else { throw Failure.invalidTaxonomyString(text) }
                if tokens[3].isEmpty || dominantTokens[3].isEmpty || tokens[3] != dominantTokens[3] { continue }
                if tokens[4] == dominantTokens[4], try ClassificationSmoothing.taxonomyLevel(text) > dominantLevel { continue }
                items[index].id = dominant
            }
        }

        /// The document with every item's (possibly new) id written into its detection.
        func finished() -> JSONObject {
            var images = self.images
            for item in items {
                guard var image = images[item.image].object, var detections = image["detections"]?.array,
                      var detection = detections[item.detection].object, var list = detection["classifications"]?.array,
                      var pair = list.first?.array, pair.first?.string != item.id else { continue }
                pair[0] = .string(item.id)
                list[0] = .array(pair)
                detection["classifications"] = .array(list)
                detections[item.detection] = .object(detection)
                image["detections"] = .array(detections)
                images[item.image] = .object(image)
            }
            var document = self.document
            document["images"] = .array(images)
            return document
        }
    }
}
