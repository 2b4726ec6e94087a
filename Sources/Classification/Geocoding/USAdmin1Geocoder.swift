/// speciesnet's `find_admin1_region` for a photo in the USA located only by latitude and longitude:
/// the state (or territory) of the nearest GeoNames city, as `reverse_geocoder.search(mode=1)` finds it.
///
/// reverse_geocoder measures plain Euclidean distance between (latitude, longitude) in degrees (no
/// wrap-around at the antimeridian), over its 144,563 cities. The table here keeps only the cities
/// whose answer borders another answer (see generate_us_admin1_cities.py, which checks that this
/// changes no answer), so a brute-force search over ~3,600 cities is both exact and fast.
/// Equal distances to two cities with different answers (a point exactly on a border) take the first
/// city in the file's order; the reference's k-d tree may take the other.
public enum USAdmin1Geocoder {
    struct City {
        let latitude: Double
        let longitude: Double
        /// A two-letter state or territory abbreviation; nil where speciesnet answers None.
        let region: String?
    }

    static let cities: [City] = citiesText.split(whereSeparator: { $0 == "\n" || $0 == ";" }).map { entry in
        let fields = entry.split(separator: " ")
        // The table is generated and compiled in: a malformed entry is a build defect, not user input.
        guard fields.count == 3, let latitude = Double(fields[0]), let longitude = Double(fields[1]) else {
            preconditionFailure("malformed entry in USAdmin1Cities.swift: \(entry)")
        }
        return City(latitude: latitude, longitude: longitude, region: fields[2] == "-" ? nil : String(fields[2]))
    }

    /// The two-letter state (e.g. "CA"), territory ("PR") or nil (nearest city outside the USA) for a
    /// point; nil for a non-finite coordinate.
    public static func region(latitude: Double, longitude: Double) -> String? {
        guard latitude.isFinite, longitude.isFinite else { return nil }
        var nearest: City?
        var nearestDistance = Double.infinity
        for city in cities {
            let dLatitude = city.latitude - latitude
            let dLongitude = city.longitude - longitude
            let distance = dLatitude * dLatitude + dLongitude * dLongitude
            if distance < nearestDistance {
                nearestDistance = distance
                nearest = city
            }
        }
        return nearest?.region
    }
}
