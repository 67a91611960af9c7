#!/usr/bin/env python3
"""Independent great-circle distances from test points to the US external boundary lines.

Reads reference/geo/us_border_lines_10m.geojson and, for each point in the list below,
finds the distance to the nearest land border (Canada or Mexico) and to the nearest
coastline by a different method from the Rust code: every boundary segment near the point is
densified along its great circle every 50 m and the haversine distance to each sample is
taken (the Rust code projects onto chords between unit vectors in an R-tree). Writes
crates/law/tests/it/zone_points.csv, which the law tests compare against within 1 mile.

Run: python3 scripts/zone_distances.py
"""
import csv
import json
import math
import os

R = 6371008.8
MILE = 1609.344
STEP_M = 50.0

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

# name, lat, lon, at_sea (in the territorial sea)
POINTS = [
    ("El Cajon, CA", 32.7948, -116.9625, False),
    ("San Diego downtown, CA", 32.7157, -117.1611, False),
    ("San Ysidro, CA", 32.5522, -117.0430, False),
    ("Imperial Beach, CA", 32.5839, -117.1131, False),
    ("Chula Vista, CA", 32.6401, -117.0842, False),
    ("Escondido, CA", 33.1192, -117.0864, False),
    ("Calexico, CA", 32.6789, -115.4989, False),
    ("Yuma, AZ", 32.6927, -114.6277, False),
    ("Tucson, AZ", 32.2226, -110.9747, False),
    ("Phoenix, AZ", 33.4484, -112.0740, False),
    ("El Paso, TX", 31.7619, -106.4850, False),
    ("Laredo, TX", 27.5306, -99.4803, False),
    ("San Antonio, TX", 29.4241, -98.4936, False),
    ("Brownsville, TX", 25.9017, -97.4975, False),
    ("Port Isabel, TX", 26.0734, -97.2086, False),
    ("McAllen, TX", 26.2034, -98.2300, False),
    ("Corpus Christi, TX", 27.8006, -97.3964, False),
    ("Houston, TX", 29.7604, -95.3698, False),
    ("Dallas, TX", 32.7767, -96.7970, False),
    ("Blaine, WA", 48.9938, -122.7471, False),
    ("Bellingham, WA", 48.7519, -122.4787, False),
    ("Seattle, WA", 47.6062, -122.3321, False),
    ("Spokane, WA", 47.6588, -117.4260, False),
    ("Detroit, MI", 42.3314, -83.0458, False),
    ("Ann Arbor, MI", 42.2808, -83.7430, False),
    ("Chicago, IL", 41.8781, -87.6298, False),
    ("Buffalo, NY", 42.8864, -78.8784, False),
    ("Burlington, VT", 44.4759, -73.2121, False),
    ("Bangor, ME", 44.8012, -68.7778, False),
    ("Boston, MA", 42.3601, -71.0589, False),
    ("New York, NY", 40.7128, -74.0060, False),
    ("Atlanta, GA", 33.7490, -84.3880, False),
    ("Denver, CO", 39.7392, -104.9903, False),
    ("Miami, FL", 25.7617, -80.1918, False),
    ("Orlando, FL", 28.5383, -81.3792, False),
    ("Naples, FL", 26.1420, -81.7948, False),
    ("Sacramento, CA", 38.5816, -121.4944, False),
    ("Anchorage, AK", 61.2181, -149.9003, False),
    ("Honolulu, HI", 21.3069, -157.8583, False),
    ("San Juan, PR", 18.4655, -66.1057, False),
    ("Off Point Loma, CA (at sea)", 32.70, -117.35, True),
    ("Off Miami, FL (at sea)", 25.76, -80.05, True),
    ("Off Galveston, TX (at sea)", 29.20, -94.70, True),
]


def unit(lat, lon):
    la, lo = math.radians(lat), math.radians(lon)
    return (math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la))


def haversine(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * R * math.asin(min(1.0, math.sqrt(a)))


def slerp_samples(a, b):
    """(lat, lon) samples along the great circle from a to b (lon/lat pairs), every STEP_M."""
    ua, ub = unit(a[1], a[0]), unit(b[1], b[0])
    dot = max(-1.0, min(1.0, sum(x * y for x, y in zip(ua, ub))))
    omega = math.acos(dot)
    n = max(1, int(math.ceil(omega * R / STEP_M)))
    out = []
    for i in range(n + 1):
        t = i / n
        if omega < 1e-12:
            v = ua
        else:
            s = math.sin(omega)
            ka, kb = math.sin((1 - t) * omega) / s, math.sin(t * omega) / s
            v = tuple(ka * x + kb * y for x, y in zip(ua, ub))
        out.append((math.degrees(math.asin(max(-1.0, min(1.0, v[2])))), math.degrees(math.atan2(v[1], v[0]))))
    return out


def nearest(lines, lat, lon):
    # Candidate segments: those with a vertex within (nearest vertex + segment length).
    segs = []
    best_vertex = float("inf")
    for line in lines:
        for a, b in zip(line, line[1:]):
            da = haversine(lat, lon, a[1], a[0])
            db = haversine(lat, lon, b[1], b[0])
            length = haversine(a[1], a[0], b[1], b[0])
            best_vertex = min(best_vertex, da, db)
            segs.append((min(da, db), length, a, b))
    best = float("inf")
    for dmin, length, a, b in segs:
        if dmin - length > best_vertex:
            continue
        for la, lo in slerp_samples(a, b):
            best = min(best, haversine(lat, lon, la, lo))
    return best / MILE


def main():
    with open(os.path.join(ROOT, "reference/geo/us_border_lines_10m.geojson")) as f:
        fc = json.load(f)
    land, coast = [], []
    for feat in fc["features"]:
        kind = feat["properties"]["kind"]
        (coast if kind.startswith("coastline") else land).extend(feat["geometry"]["coordinates"])
    sea = 12 * 1852.0 / MILE
    out = os.path.join(ROOT, "crates/law/tests/it/zone_points.csv")
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "lat", "lon", "at_sea", "land_border_miles", "coastline_miles", "boundary_miles"])
        for name, lat, lon, at_sea in POINTS:
            dl, dc = nearest(land, lat, lon), nearest(coast, lat, lon)
            coastal = max(0.0, sea - dc) if at_sea else dc + sea
            w.writerow([name.replace(",", ""), lat, lon, str(at_sea).lower(), f"{dl:.3f}", f"{dc:.3f}", f"{min(dl, coastal):.3f}"])
            print(f"{name:32} land {dl:8.2f}  coast {dc:8.2f}  boundary {min(dl, coastal):8.2f}")


if __name__ == "__main__":
    main()
