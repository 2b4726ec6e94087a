import ResultsFormat

/// One photo of a speciesnet run and where it was taken (speciesnet's instances.json entry): the
/// geofence's country (ISO 3166-1 alpha-3) and admin1 region, and the latitude and longitude written
/// through to the output.
public struct SpeciesNetInstance: Sendable, Equatable {
    public var filepath: String
    public var country: String?
    public var admin1Region: String?
    /// As given (a JSON number), written back unchanged but for speciesnet's 4-decimal rounding.
    public var latitude: JSONValue?
    public var longitude: JSONValue?

    public init(filepath: String, country: String? = nil, admin1Region: String? = nil, latitude: JSONValue? = nil, longitude: JSONValue? = nil) {
        self.filepath = filepath
        self.country = country
        self.admin1Region = admin1Region
        self.latitude = latitude
        self.longitude = longitude
    }

    /// speciesnet's `find_admin1_region`: the region when both country and region are given, none
    /// otherwise (regions only count with a country), except for a photo in the USA with latitude and
    /// longitude, whose state (or territory) is looked up as speciesnet does (`USAdmin1Geocoder`).
    public func resolvedAdmin1Region() -> String? {
        if let country, !country.isEmpty, let admin1Region, !admin1Region.isEmpty { return admin1Region }
        guard country == "USA", let latitude = latitude?.number, let longitude = longitude?.number else { return nil }
        return USAdmin1Geocoder.region(latitude: latitude, longitude: longitude)
    }

    /// `--country` / `--admin1-region` given for the whole run (`_enforce_location`): every photo gets the
    /// country, and the region where one is given; without a country nothing changes.
    public func enforcing(country: String?, admin1Region: String?) -> SpeciesNetInstance {
        guard let country, !country.isEmpty else { return self }
        var copy = self
        copy.country = country
        if let admin1Region, !admin1Region.isEmpty { copy.admin1Region = admin1Region }
        return copy
    }
}
