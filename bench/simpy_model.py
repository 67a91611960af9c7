"""The simulator's flows in SimPy, for the speed comparison in bench/sim-vs-simpy.

One national fiscal year (FY2024: 2023-10-01, 366 days) of baseline-fy2024, the way a SimPy
user would write it: one process per person, one generator process per arrival channel, beds
as counters per area of responsibility (AOR), removals as a daily process over a Store.

Same inputs as the Rust model (crates/sim/src/model.rs): the parameters of
simulations/baseline-fy2024.toml as of each day, Border Patrol encounters by sector and month,
FY2024 ADP by AOR and state from the facility list, the 287(g) agreements by signing date, and
the detained population of 2023-09 by arresting agency and criminality. Differences, none of
which changes the amount of work: the jail's answer to a detainer is one national honor share
rather than the law engine's per-state answer; Poisson draws come from Python's `random`.

Prints one JSON line: people, events (SimPy's scheduled events), seconds, book-ins.
Run: python3 bench/simpy_model.py [--scale N] [--seed S]
"""

import argparse
import csv
import datetime as dt
import json
import math
import pathlib
import random
import time
import tomllib

import simpy

ROOT = pathlib.Path(__file__).resolve().parent.parent
REF = ROOT / "reference"
FROM = dt.date(2023, 10, 1)
DAYS = 366

STATES = {
    "ALABAMA": "AL", "ALASKA": "AK", "ARIZONA": "AZ", "ARKANSAS": "AR", "CALIFORNIA": "CA",
    "COLORADO": "CO", "CONNECTICUT": "CT", "DELAWARE": "DE", "DISTRICT OF COLUMBIA": "DC",
    "FLORIDA": "FL", "GEORGIA": "GA", "HAWAII": "HI", "IDAHO": "ID", "ILLINOIS": "IL",
    "INDIANA": "IN", "IOWA": "IA", "KANSAS": "KS", "KENTUCKY": "KY", "LOUISIANA": "LA",
    "MAINE": "ME", "MARYLAND": "MD", "MASSACHUSETTS": "MA", "MICHIGAN": "MI", "MINNESOTA": "MN",
    "MISSISSIPPI": "MS", "MISSOURI": "MO", "MONTANA": "MT", "NEBRASKA": "NE", "NEVADA": "NV",
    "NEW HAMPSHIRE": "NH", "NEW JERSEY": "NJ", "NEW MEXICO": "NM", "NEW YORK": "NY",
    "NORTH CAROLINA": "NC", "NORTH DAKOTA": "ND", "OHIO": "OH", "OKLAHOMA": "OK", "OREGON": "OR",
    "PENNSYLVANIA": "PA", "RHODE ISLAND": "RI", "SOUTH CAROLINA": "SC", "SOUTH DAKOTA": "SD",
    "TENNESSEE": "TN", "TEXAS": "TX", "UTAH": "UT", "VERMONT": "VT", "VIRGINIA": "VA",
    "WASHINGTON": "WA", "WEST VIRGINIA": "WV", "WISCONSIN": "WI", "WYOMING": "WY",
    "PUERTO RICO": "PR", "GUAM": "GU", "VIRGIN ISLANDS": "VI", "NORTHERN MARIANA ISLANDS": "MP",
}


class Params:
    """The scenario's parameters, each a constant or dated steps (baseline-fy2024 is step)."""

    def __init__(self, path, scale):
        self.p = tomllib.loads(path.read_text())["param"]
        for v in self.p.values():
            if "points" in v:
                v["points"] = [(dt.date.fromisoformat(d), x) for d, x in v["points"]]
        self.scale = scale

    def on(self, day):
        """Every parameter's value on the day (looked up once a day, as the Rust model does)."""
        return {k: self.at(k, day) for k in self.p}

    def at(self, key, day):
        v = self.p[key]
        if "value" in v:
            return float(v["value"])
        out = float(v["points"][0][1])
        for d, x in v["points"]:
            if d <= day:
                out = float(x)
        return out


def poisson(rng, mean):
    """Poisson draws: multiplication for small means, PTRS (Hörmann 1993) for large."""
    if mean <= 0:
        return 0
    if mean < 10:
        limit, k, prod = math.exp(-mean), 0, rng.random()
        while prod > limit:
            k += 1
            prod *= rng.random()
        return k
    slam = math.sqrt(mean)
    loglam = math.log(mean)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2)
    while True:
        u = rng.random() - 0.5
        v = rng.random()
        us = 0.5 - abs(u)
        k = math.floor((2 * a / us + b) * u + mean + 0.43)
        if us >= 0.07 and v <= vr:
            return k
        if k < 0 or (us < 0.013 and v > us):
            continue
        if math.log(v) + math.log(inv_alpha) - math.log(a / (us * us) + b) <= -mean + k * loglam - math.lgamma(k + 1):
            return k


def lognormal(rng, mean, sigma):
    return rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)


def read_inputs():
    aor_states = {}
    with open(REF / "ice_aor_field_offices.csv") as f:
        for r in csv.DictReader(f):
            aor_states[r["aor_code"]] = [s.strip() for s in r["facility_states_in_ice_stats_fy19_fy26"].split(",")]
    aors = list(aor_states)
    adp = {a: 0.0 for a in aors}
    state_adp, state_aor_adp = {}, {}
    with open(REF / "ice_detention_facilities.csv") as f:
        for r in csv.DictReader(f):
            if r["fiscal_year"] != "2024" or r["aor"] not in adp:
                continue
            x = float(r["adp_total"])
            adp[r["aor"]] += x
            state_adp[r["state"]] = state_adp.get(r["state"], 0.0) + x
            key = (r["state"], r["aor"])
            state_aor_adp[key] = state_aor_adp.get(key, 0.0) + x
    state_aor = {}
    for i, a in enumerate(aors):
        for st in aor_states[a]:
            w = state_aor_adp.get((st, a), 0.0)
            if st not in state_aor or w > state_aor[st][1]:
                state_aor[st] = (i, w)
    state_aor = {st: i for st, (i, _) in state_aor.items()}
    usbp = {}
    with open(REF / "cbp_usbp_encounters_monthly_by_sector.csv") as f:
        for r in csv.DictReader(f):
            st = r["sector"].rsplit(", ", 1)[-1]
            m = usbp.setdefault(r["period"], {})
            aor = state_aor.get(st, 0)
            m[aor] = m.get(aor, 0) + float(r["quantity"])
    agreements = []
    with open(REF / "ice_287g_participating_agencies_2026-05-18am.csv") as f:
        for r in csv.DictReader(f):
            model = {"Jail Enforcement Model": 0, "Warrant Service Officer": 1, "Task Force Model": 2}.get(r["SUPPORT TYPE"].strip())
            st = STATES.get(r["STATE"].strip().upper())
            if model is None or not r["SIGNED"].strip():
                continue
            agreements.append((dt.date.fromisoformat(r["SIGNED"].strip()), state_aor.get(st, 0), model))
    agreements.sort()
    population = {}
    with open(REF / "ice_detention_monthly.csv") as f:
        for r in csv.DictReader(f):
            if r["metric"] == "adp" and r["period"] == "2023-09" and r["arresting_agency"] in ("CBP", "ICE") and r["criminality"] != "Total":
                population[(r["arresting_agency"], r["criminality"])] = float(r["value"])
    total = sum(adp.values())
    weights = [adp[a] / total for a in aors]
    st_total = sum(state_adp.values())
    states = [(st, w / st_total, state_aor.get(st, 0)) for st, w in sorted(state_adp.items())]
    return aors, weights, usbp, agreements, population, states


def run(scale, seed):
    rng = random.Random(seed)
    par = Params(ROOT / "simulations" / "baseline-fy2024.toml", scale)
    aors, weights, usbp, agreements, population, states = read_inputs()
    cum = list(_accumulate(weights))
    st_cum = list(_accumulate([w for _, w, _ in states]))
    env = simpy.Environment()
    n = len(aors)
    detained = [0] * n
    caps = [0] * n
    removal_queue = simpy.Store(env)
    stats = {"people": 0, "book_ins": 0, "removals": 0, "released": 0}
    state = {"busy": 0.0, "other": 0.0, "day": FROM, "beds": 0.0, "p": par.on(FROM)}

    def v(key):
        return state["p"][key]

    def pick(c):
        u = rng.random()
        lo, hi = 0, len(c) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if u < c[mid]:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def criminality(agency):
        c = v(f"convicted_share_{agency.lower()}")
        p = v(f"pending_share_{agency.lower()}")
        u = rng.random()
        return "convicted" if u < c else "pending" if u < c + p else "other"

    def detention(agency, crim, aor, stay_days):
        yield env.timeout(max(stay_days, 1 / 24))
        if rng.random() < v("removal_share"):
            yield removal_queue.put((aor, agency))
        else:
            detained[aor] -= 1
            stats["released"] += 1

    def book_in(agency, aor):
        if detained[aor] >= caps[aor]:
            best = max(range(n), key=lambda i: caps[i] - detained[i])
            if detained[best] < caps[best]:
                aor = best
            elif sum(detained) >= state["beds"] * (1 + v("overflow_share")):
                stats["released"] += 1
                return
        crim = criminality(agency)
        detained[aor] += 1
        stats["book_ins"] += 1
        env.process(detention(agency, crim, aor, lognormal(rng, v(f"los_days_{agency.lower()}_{crim}"), v("los_sigma"))))

    def bp_person(aor, offset):
        stats["people"] += 1
        yield env.timeout(offset)
        yield env.timeout(max(lognormal(rng, v("bp_custody_hours_mean"), 0.6), 1) / 24)
        book_in("CBP", aor)

    def field_person(aor, offset):
        stats["people"] += 1
        yield env.timeout(offset)
        if rng.random() < v("ice_book_in_share"):
            book_in("ICE", aor)

    def jail_person(aor, honored, offset):
        stats["people"] += 1
        yield env.timeout(offset)
        yield env.timeout(rng.expovariate(1 / v("jail_days_mean")))
        if honored and rng.random() < v("pickup_share"):
            state["busy"] += v("officer_days_per_pickup")
            state["other"] += 1
            if rng.random() < v("ice_book_in_share"):
                book_in("ICE", aor)

    def days():
        next_agreement = 0
        in_force = [[0, 0, 0] for _ in range(n)]
        for d in range(DAYS):
            day = FROM + dt.timedelta(days=d)
            state["day"] = day
            state["p"] = par.on(day)
            state["beds"] = v("beds") * scale
            for i in range(n):
                caps[i] = round(state["beds"] * weights[i])
            wf = v("weekend_factor")
            wf = (wf if day.weekday() >= 5 else 1.0) * 7 / (5 + 2 * wf)
            # Border Patrol: encounters by sector, a share handed to ICE after custody hours.
            month = usbp.get(day.strftime("%Y-%m"), {})
            share = v("bp_book_in_share")
            dim = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
            for aor, q in month.items():
                for _ in range(poisson(rng, q / dim.day * scale)):
                    if rng.random() < share:
                        env.process(bp_person(aor, rng.random()))
            # ICE at large: field officers less yesterday's escorts and pickups.
            field = max(v("ero_officers") * scale * v("field_share") - state["busy"], 0)
            state["busy"] = 0.0
            for _ in range(poisson(rng, min(field * v("at_large_per_officer_day"), field * v("at_large_max_per_officer_day")) * wf)):
                env.process(field_person(pick(cum), 0.25 + rng.random() / 2))
            # 287(g) by model, from the agreements signed by today.
            while next_agreement < len(agreements) and agreements[next_agreement][0] <= day:
                _, aor, m = agreements[next_agreement]
                in_force[aor][m] += 1
                next_agreement += 1
            rates = [v("jem_arrests_per_agreement_day"), v("wso_arrests_per_agreement_day"), v("tfm_arrests_per_agreement_day") * wf]
            for aor in range(n):
                for m in range(3):
                    if in_force[aor][m]:
                        for _ in range(poisson(rng, in_force[aor][m] * rates[m] * scale)):
                            env.process(field_person(aor, rng.random()))
            # Detainers: the jail holds or declines, ICE picks up a share at release.
            honor = v("honor_share_discretionary")
            for _ in range(poisson(rng, v("detainers_per_day") * scale)):
                _, _, aor = states[pick(st_cum)]
                env.process(jail_person(aor, rng.random() < honor, rng.random()))
            yield env.timeout(1)
            # Removals: up to the day's capacity from the queue; escorts cost officer-days.
            flights = v("removal_flights_per_day")
            capacity = round(flights * v("seats_per_flight") + v("land_removals_per_day"))
            done = 0
            while done < capacity and removal_queue.items:
                aor, _ = yield removal_queue.get()
                detained[aor] -= 1
                stats["removals"] += 1
                done += 1
            state["busy"] += flights * v("escort_officer_days_per_flight")

    # The population detained at the start, with stays already under way (length-biased).
    sigma = par.at("los_sigma", FROM)
    state["beds"] = par.at("beds", FROM) * scale
    for i in range(n):
        caps[i] = round(state["beds"] * weights[i])
    names = {"Convicted Criminal": "convicted", "Pending Criminal Charges": "pending", "Other Immigration Violator": "other"}
    for (agency, crim), adp in population.items():
        c = names.get(crim, "other")
        mean = par.at(f"los_days_{agency.lower()}_{c}", FROM)
        for _ in range(round(adp * scale)):
            aor = pick(cum)
            detained[aor] += 1
            stats["people"] += 1
            total = lognormal(rng, mean * math.exp(sigma * sigma), sigma)
            env.process(detention(agency, c, aor, total * rng.random()))

    env.process(days())
    start = time.perf_counter()
    env.run(until=DAYS)
    secs = time.perf_counter() - start
    return {"scale": scale, "people": stats["people"], "events": next(env._eid), "book_ins": stats["book_ins"],
            "removals": stats["removals"], "seconds": secs, "simpy": simpy.__version__}


def _accumulate(ws):
    acc = 0.0
    for w in ws:
        acc += w
        yield acc


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    print(json.dumps(run(a.scale, a.seed)))
