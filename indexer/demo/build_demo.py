"""Build the demo database indexer/demo/telecom.sqlite: a 5G/4G radio network and two days of its counters.

The data is synthetic but shaped like an operator's export of 3GPP managed objects (NRM): cryptic lowercase
names, realistic values (successes <= attempts, used PRBs <= available PRBs, a daily traffic curve, a few
locked or faulty cells with matching alarms). A fixed seed makes every build identical.

    python -m indexer.demo.build_demo [--out PATH]
"""

from __future__ import annotations

import argparse
import itertools
import random
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

DEFAULT_OUT = Path(__file__).with_name("telecom.sqlite")
START = datetime(2024, 5, 13)  # a Monday; counters cover two full days
HOURS = 48  # hourly result output periods (ROPs)

SCHEMA = """
CREATE TABLE subnetwork (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  region TEXT NOT NULL
);
CREATE TABLE managedelement (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  vendor TEXT NOT NULL,
  swversion TEXT NOT NULL,
  site TEXT NOT NULL,
  subnetwork_id INTEGER NOT NULL REFERENCES subnetwork (id)
);
CREATE TABLE gnbdufunction (
  id INTEGER PRIMARY KEY,
  managedelement_id INTEGER NOT NULL REFERENCES managedelement (id),
  gnbid INTEGER NOT NULL,
  gnbidlength INTEGER NOT NULL,
  administrativestate TEXT NOT NULL
);
CREATE TABLE gnbcucpfunction (
  id INTEGER PRIMARY KEY,
  managedelement_id INTEGER NOT NULL REFERENCES managedelement (id),
  gnbid INTEGER NOT NULL,
  gnbcuname TEXT NOT NULL,
  plmnid TEXT NOT NULL
);
CREATE TABLE nrcelldu (
  id INTEGER PRIMARY KEY,
  gnbdufunction_id INTEGER NOT NULL REFERENCES gnbdufunction (id),
  celllocalid INTEGER NOT NULL,
  userlabel TEXT NOT NULL UNIQUE,
  nrpci INTEGER NOT NULL,
  nrtac INTEGER NOT NULL,
  ssbfrequency INTEGER NOT NULL,
  bschannelbwdl INTEGER NOT NULL,
  administrativestate TEXT NOT NULL,
  operationalstate TEXT NOT NULL
);
CREATE TABLE enodebfunction (
  id INTEGER PRIMARY KEY,
  managedelement_id INTEGER NOT NULL REFERENCES managedelement (id),
  enbid INTEGER NOT NULL,
  administrativestate TEXT NOT NULL
);
CREATE TABLE eutrancellfdd (
  id INTEGER PRIMARY KEY,
  enodebfunction_id INTEGER NOT NULL REFERENCES enodebfunction (id),
  cellid INTEGER NOT NULL,
  userlabel TEXT NOT NULL UNIQUE,
  earfcndl INTEGER NOT NULL,
  earfcnul INTEGER NOT NULL,
  physicalcellid INTEGER NOT NULL,
  tac INTEGER NOT NULL,
  dlchannelbandwidth INTEGER NOT NULL,
  ulchannelbandwidth INTEGER NOT NULL,
  administrativestate TEXT NOT NULL,
  operationalstate TEXT NOT NULL
);
CREATE TABLE pmnrcelldu (
  nrcelldu_id INTEGER NOT NULL REFERENCES nrcelldu (id),
  ropstarttime TEXT NOT NULL,
  pmrrcconnestabatt INTEGER NOT NULL,
  pmrrcconnestabsucc INTEGER NOT NULL,
  pmmacvoldl INTEGER NOT NULL,
  pmmacvolul INTEGER NOT NULL,
  pmprbuseddl INTEGER NOT NULL,
  pmprbavaildl INTEGER NOT NULL,
  PRIMARY KEY (nrcelldu_id, ropstarttime)
);
CREATE TABLE pmeutrancellfdd (
  eutrancellfdd_id INTEGER NOT NULL REFERENCES eutrancellfdd (id),
  ropstarttime TEXT NOT NULL,
  pmrrcconnestabatt INTEGER NOT NULL,
  pmrrcconnestabsucc INTEGER NOT NULL,
  pmerabestabattinit INTEGER NOT NULL,
  pmerabestabsuccinit INTEGER NOT NULL,
  pmpdcpvoldldrb INTEGER NOT NULL,
  pmpdcpvoluldrb INTEGER NOT NULL,
  pmcelldowntimeauto INTEGER NOT NULL,
  pmcelldowntimeman INTEGER NOT NULL,
  PRIMARY KEY (eutrancellfdd_id, ropstarttime)
);
CREATE TABLE alarmlog (
  id INTEGER PRIMARY KEY,
  alarmid INTEGER NOT NULL,
  managedelement_id INTEGER NOT NULL REFERENCES managedelement (id),
  eventtime TEXT NOT NULL,
  perceivedseverity TEXT NOT NULL,
  eventtype TEXT NOT NULL,
  probablecause TEXT NOT NULL,
  specificproblem TEXT NOT NULL
);
"""

SUBNETWORKS = [("RAN_EAST", "East"), ("RAN_NORTH", "North"), ("RAN_SOUTH", "South"), ("RAN_WEST", "West")]
# (site, subnetwork name, vendor, number of gNBs, number of eNodeBs); one managed element per gNB/eNodeB
SITES = [
    ("Berlin-Mitte", "RAN_EAST", "Ericsson", 2, 1),
    ("Berlin-Kreuzberg", "RAN_EAST", "Ericsson", 1, 1),
    ("Leipzig-Zentrum", "RAN_EAST", "Ericsson", 1, 0),
    ("Dresden-Neustadt", "RAN_EAST", "Ericsson", 0, 1),
    ("Hamburg-Altona", "RAN_NORTH", "Nokia", 1, 1),
    ("Hamburg-Eimsbuettel", "RAN_NORTH", "Nokia", 1, 0),
    ("Bremen-Mitte", "RAN_NORTH", "Nokia", 0, 1),
    ("Muenchen-Schwabing", "RAN_SOUTH", "Nokia", 1, 1),
    ("Stuttgart-Mitte", "RAN_SOUTH", "Ericsson", 1, 1),
    ("Nuernberg-Altstadt", "RAN_SOUTH", "Nokia", 0, 1),
    ("Koeln-Deutz", "RAN_WEST", "Samsung", 1, 1),
    ("Frankfurt-Sachsenhausen", "RAN_WEST", "Samsung", 1, 1),
    ("Duesseldorf-Altstadt", "RAN_WEST", "Samsung", 0, 1),
]
SWVERSIONS = {"Ericsson": ["23.Q4", "24.Q1"], "Nokia": ["23R3", "24R1"], "Samsung": ["22.A.1", "23.A.0"]}
GNBIDLENGTH = {"Ericsson": 22, "Nokia": 24, "Samsung": 32}  # vendors' planning defaults differ
SECTORS = "ABC"

# NR band -> (ssbfrequency NR-ARFCN, bandwidth MHz, DL PRBs, slots/hour, peak RRC attempts/h, peak DL bytes/h)
NR_BANDS = {"N78": (647328, 100, 273, 7_200_000, 2500, 40e9), "N28": (152690, 10, 52, 3_600_000, 900, 3e9)}
# LTE band -> (earfcndl, earfcnul, bandwidth kHz, peak RRC attempts/h, peak PDCP DL kbit/h)
LTE_BANDS = {"L18": (1300, 19300, 20000, 3000, 1.2e8), "L08": (6300, 24300, 10000, 1500, 4e7)}

# share of the busy-hour traffic per hour of day
DIURNAL = [0.25, 0.18, 0.12, 0.1, 0.1, 0.15, 0.3, 0.5, 0.7, 0.8, 0.82, 0.85,
           0.9, 0.88, 0.85, 0.85, 0.9, 0.95, 1.0, 1.0, 0.95, 0.8, 0.6, 0.4]
# (specificproblem, probablecause, eventtype) in the style of X.733 / 3GPP TS 32.111
ALARMS = [
    ("Link Failure", "Loss of signal", "communicationsAlarm"),
    ("Timing Sync Fault", "Timing problem", "equipmentAlarm"),
    ("SFP Module Fault", "Transmitter failure", "equipmentAlarm"),
    ("VSWR Over Threshold", "Degraded signal", "equipmentAlarm"),
    ("Fan Failure", "Cooling system failure", "equipmentAlarm"),
    ("High Temperature", "Temperature unacceptable", "environmentalAlarm"),
    ("Power Supply Failure", "Power problem", "environmentalAlarm"),
    ("Software Error", "Software error", "processingErrorAlarm"),
    ("License Capacity Exceeded", "Threshold crossed", "qualityOfServiceAlarm"),
]
# the core-network link differs: NG (to the 5GC) on a gNB, S1 (to the EPC) on an eNodeB
CORE_LINK_DOWN = {"G": ("NG Connection Failure", "Communication protocol error", "communicationsAlarm"),
                  "L": ("S1 Connection Failure", "Communication protocol error", "communicationsAlarm")}
CELL_DOWN = ("Cell Unavailable", "Equipment malfunction", "equipmentAlarm")
SEVERITIES = ["CRITICAL", "MAJOR", "MINOR", "WARNING"]

Rows = dict[str, list[tuple]]
# add_alarm(managedelement_id, hour raised, (problem, cause, eventtype), severity, may be cleared later)
AddAlarm = Callable[[int, float, tuple[str, str, str], str, bool], None]


def rop(hour: int) -> str:
    # 'YYYY-MM-DD HH:MM:SS' (not ISO 'T'): SQLite's own format, so plain string comparison orders correctly
    return (START + timedelta(hours=hour)).strftime("%Y-%m-%d %H:%M:%S")


def cell_state(rng: random.Random) -> tuple[str, str, int]:
    """(administrativestate, operationalstate, first ROP without service; HOURS if always in service)."""
    r = rng.random()
    if r < 0.05:
        return "LOCKED", "DISABLED", 0  # locked for maintenance the whole time
    if r < 0.08:
        return "SHUTTINGDOWN", "ENABLED", HOURS  # still serving until its last users leave
    if r < 0.14:
        return "UNLOCKED", "DISABLED", rng.randrange(12, HOURS)  # a fault took it down
    return "UNLOCKED", "ENABLED", HOURS


def build(out: Path = DEFAULT_OUT) -> dict[str, int]:
    """Write the database to `out` (replacing it) and return the row count of every table."""
    rng = random.Random(42)
    out.unlink(missing_ok=True)
    con = sqlite3.connect(out)
    con.executescript(SCHEMA)
    rows: Rows = {name: [] for name in (
        "subnetwork", "managedelement", "gnbdufunction", "gnbcucpfunction", "nrcelldu", "enodebfunction",
        "eutrancellfdd", "pmnrcelldu", "pmeutrancellfdd")}
    alarms: list[tuple] = []  # (eventtime, alarmid, managedelement_id, severity, eventtype, cause, problem)
    alarm_ids = itertools.count(1001)

    def add_alarm(me_id: int, hour: float, alarm: tuple[str, str, str], severity: str, cleared: bool) -> None:
        alarmid = next(alarm_ids)
        raised = START + timedelta(hours=hour)
        problem, cause, eventtype = alarm
        alarms.append((raised, alarmid, me_id, severity, eventtype, cause, problem))
        if cleared:
            clear = raised + timedelta(minutes=rng.randint(2, 300))
            if clear < START + timedelta(hours=HOURS):  # otherwise still active at the end of the export
                alarms.append((clear, alarmid, me_id, "CLEARED", eventtype, cause, problem))

    rows["subnetwork"] = [(i, name, region) for i, (name, region) in enumerate(SUBNETWORKS, 1)]
    subnetwork_ids = {name: i for i, name, _ in rows["subnetwork"]}
    for site_no, (site, subnetwork, vendor, n_gnb, n_enb) in enumerate(SITES, 1):
        sn_id = subnetwork_ids[subnetwork]
        city, district = site.split("-")
        code = f"{city[:3]}{district[:3]}".upper()  # e.g. BERMIT, as in the operator's naming plan
        tac = 100 * sn_id + site_no  # one tracking area per site
        for kind, count in (("G", n_gnb), ("L", n_enb)):
            for n in range(1, count + 1):
                me_id = len(rows["managedelement"]) + 1
                me_name = f"{code[:3]}-{code[3:]}-{kind}{n:02d}"
                swversion = rng.choice(SWVERSIONS[vendor])
                rows["managedelement"].append((me_id, me_name, vendor, swversion, site, sn_id))
                if kind == "G":
                    du_id, gnbid = len(rows["gnbdufunction"]) + 1, 262000 + me_id
                    rows["gnbdufunction"].append((du_id, me_id, gnbid, GNBIDLENGTH[vendor], "UNLOCKED"))
                    rows["gnbcucpfunction"].append((du_id, me_id, gnbid, f"{me_name}-CUCP", "26201"))
                    bands = ["N78", "N28"] if rng.random() < 0.3 else ["N78"]  # low band on some sites only
                    for band_no, band in enumerate(bands):
                        group = rng.randrange(336)  # PCI plan: sectors share a group, differ by PCI mod 3
                        for s, sector in enumerate(SECTORS):
                            add_nr_cell(rng, rows, du_id, me_id, 10 * band_no + s + 1,
                                        f"{code}{n}_{band}_{sector}", band, 3 * group + s, tac, add_alarm)
                else:
                    enb_id = len(rows["enodebfunction"]) + 1
                    rows["enodebfunction"].append((enb_id, me_id, 50000 + me_id, "UNLOCKED"))
                    bands = ["L18", "L08"] if rng.random() < 0.4 else ["L18"]
                    for band_no, band in enumerate(bands):
                        group = rng.randrange(168)
                        for s, sector in enumerate(SECTORS):
                            add_lte_cell(rng, rows, enb_id, me_id, 10 * band_no + s + 1,
                                         f"{code}_{band}_{sector}", band, 3 * group + s, tac, add_alarm)
        # background alarms: a handful per managed element over the two days
        for me_id, me_name, *_ in rows["managedelement"][-(n_gnb + n_enb):]:
            for _ in range(rng.randint(0, 7)):
                severity = rng.choices(SEVERITIES, weights=[1, 3, 4, 3])[0]
                alarm = rng.choice([*ALARMS, CORE_LINK_DOWN[me_name[-3]]])
                add_alarm(me_id, rng.uniform(0, HOURS), alarm, severity, rng.random() < 0.75)

    for table, table_rows in rows.items():
        marks = ",".join("?" * len(table_rows[0]))
        con.executemany(f"INSERT INTO {table} VALUES ({marks})", table_rows)
    alarms.sort(key=lambda a: (a[0], a[1], a[3] == "CLEARED"))  # log ids in time order
    con.executemany("INSERT INTO alarmlog VALUES (?,?,?,?,?,?,?,?)", [
        (i, alarmid, me_id, time.strftime("%Y-%m-%d %H:%M:%S"), *rest)
        for i, (time, alarmid, me_id, *rest) in enumerate(alarms, 1)])
    con.commit()
    counts = {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for (t,) in con.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")}
    con.close()
    return counts


def add_nr_cell(rng: random.Random, rows: Rows, du_id: int, me_id: int, local_id: int,
                label: str, band: str, pci: int, tac: int, add_alarm: AddAlarm) -> None:
    ssb, bw, prbs, slots, peak_att, peak_vol = NR_BANDS[band]
    admin, oper, down_from = cell_state(rng)
    cell_id = len(rows["nrcelldu"]) + 1
    rows["nrcelldu"].append((cell_id, du_id, local_id, label, pci, 5000 + tac, ssb, bw, admin, oper))
    if 0 < down_from < HOURS:
        add_alarm(me_id, down_from - rng.random(), CELL_DOWN, "CRITICAL", False)
    load = rng.uniform(0.3, 1.1)
    fail = rng.uniform(0.07, 0.12) if rng.random() < 0.1 else rng.uniform(0.003, 0.02)  # a few bad cells
    for h in range(HOURS):
        if h >= down_from:
            rows["pmnrcelldu"].append((cell_id, rop(h), 0, 0, 0, 0, 0, 0))
            continue
        f = load * DIURNAL[h % 24] * rng.uniform(0.85, 1.15)
        att = round(peak_att * f)
        voldl = round(peak_vol * f)
        avail = prbs * slots  # PRBs summed over all slots of the hour
        succ = att - round(att * fail * rng.uniform(0.5, 1.5))
        rows["pmnrcelldu"].append((cell_id, rop(h), att, succ, voldl, round(voldl * rng.uniform(0.08, 0.15)),
                                   round(avail * min(0.95, 0.03 + 0.8 * f)), avail))


def add_lte_cell(rng: random.Random, rows: Rows, enb_id: int, me_id: int, cell_no: int,
                 label: str, band: str, pci: int, tac: int, add_alarm: AddAlarm) -> None:
    earfcndl, earfcnul, bw, peak_att, peak_vol = LTE_BANDS[band]
    admin, oper, down_from = cell_state(rng)
    cell_id = len(rows["eutrancellfdd"]) + 1
    rows["eutrancellfdd"].append((cell_id, enb_id, cell_no, label, earfcndl, earfcnul, pci, tac, bw, bw,
                                  admin, oper))
    if 0 < down_from < HOURS:
        add_alarm(me_id, down_from - rng.random(), CELL_DOWN, "CRITICAL", False)
    load = rng.uniform(0.3, 1.1)
    fail = rng.uniform(0.06, 0.1) if rng.random() < 0.1 else rng.uniform(0.002, 0.015)
    for h in range(HOURS):
        if h >= down_from:  # downtime is counted as manual when the cell was locked, automatic on a fault
            auto, manual = (0, 3600) if admin == "LOCKED" else (3600, 0)
            rows["pmeutrancellfdd"].append((cell_id, rop(h), 0, 0, 0, 0, 0, 0, auto, manual))
            continue
        f = load * DIURNAL[h % 24] * rng.uniform(0.85, 1.15)
        att = round(peak_att * f)
        succ = att - round(att * fail * rng.uniform(0.5, 1.5))
        erab_att = round(succ * rng.uniform(0.9, 0.98))  # most, not all, RRC connections set up a bearer
        voldl = round(peak_vol * f)
        rows["pmeutrancellfdd"].append((cell_id, rop(h), att, succ, erab_att,
                                        erab_att - round(erab_att * rng.uniform(0.001, 0.01)),
                                        voldl, round(voldl * rng.uniform(0.08, 0.15)), 0, 0))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build the ragsql demo telecom database.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output file (default: {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    counts = build(args.out)
    print(f"wrote {args.out}: " + ", ".join(f"{t}={n}" for t, n in counts.items()))


if __name__ == "__main__":
    main()
