"""Seed data for the FHIR benchmark: in the demo tenant, 100 patients and
1,000 appointments with 10 clinicians (Karin among them), half a year back
and ahead of now, each patient with ten. Writes to OUT_DIR:

- `tillit.sql`: the rows for Tillit, valid for SQLite and PostgreSQL (run it
  after one start, so that the demo tenant's bootstrap people exist);
- `peer.ndjson`: the same patients, practitioners and appointments as FHIR
  R4 resources with the same ids, one per line, for the peer server (PUT);
- `patients.txt`, `appointments.txt`: the ids the load reads.

    python3 seed_fhir.py OUT_DIR NOW_MS
"""
import json
import random
import sys
import uuid

from personnummer import pnr
from datetime import datetime, timezone

out_dir, now_ms = sys.argv[1], int(sys.argv[2])
random.seed(11)
TENANT = "demo"
CLINICIANS, PATIENTS, APPOINTMENTS = 10, 100, 1000
KARIN_PNR = "198112189876"
STATUSES = ["unconfirmed", "confirmed", "confirmed", "confirmed", "cancelled", "finished"]
FHIR_STATUS = {"unconfirmed": "pending", "confirmed": "booked", "cancelled": "cancelled", "finished": "fulfilled"}


def instant(ms):
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


karin = f"(SELECT id FROM people WHERE tenant_id = '{TENANT}' AND personnummer = '{KARIN_PNR}')"
clinicians = [f"fc{i}" for i in range(1, CLINICIANS)]
patients = [str(uuid.UUID(int=random.getrandbits(128))) for _ in range(PATIENTS)]
sql, peer = [], []

people = []
for i, c in enumerate(clinicians):
    people.append(f"('{TENANT}', '{c}', 'clinician', 'active', '{pnr(300000 + i)}', 'Klin{i}', 'Iker', {now_ms}, {now_ms}, NULL)")
    peer.append({"resourceType": "Practitioner", "id": c, "active": True,
                 "name": [{"family": "Iker", "given": [f"Klin{i}"]}]})
peer.append({"resourceType": "Practitioner", "id": "karin", "active": True,
             "name": [{"family": "Lindblad", "given": ["Karin"]}]})
for i, p in enumerate(patients):
    number = pnr(400000 + i)
    phone = f"+4670{400000 + i:07d}"
    people.append(f"('{TENANT}', '{p}', 'patient', 'active', '{number}', 'Pat{i}', 'Ient', {now_ms}, {now_ms}, '{phone}')")
    peer.append({"resourceType": "Patient", "id": p, "active": True,
                 "identifier": [{"system": "http://electronichealth.se/identifier/personnummer", "value": number}],
                 "name": [{"family": "Ient", "given": [f"Pat{i}"]}],
                 "telecom": [{"system": "phone", "value": phone, "use": "mobile"}],
                 "birthDate": f"{number[0:4]}-{number[4:6]}-{number[6:8]}"})
sql.append("INSERT INTO people (tenant_id, id, role, status, personnummer, given_name, family_name, created_at, updated_at, phone) VALUES\n"
           + ",\n".join(people) + ";")
all_clinicians = [karin] + [f"'{c}'" for c in clinicians]
peer_clinicians = ["karin"] + clinicians
sql.append("INSERT INTO clinician_profiles (tenant_id, person_id, title, introduction, way_of_working, first_visit, "
           f"visiting_address, published_at, updated_at) SELECT '{TENANT}', id, 'Leg. psykolog', '', '', '', '', {now_ms}, {now_ms} "
           f"FROM people WHERE tenant_id = '{TENANT}' AND role = 'clinician' AND id NOT IN "
           f"(SELECT person_id FROM clinician_profiles WHERE tenant_id = '{TENANT}');")
sql.append("INSERT INTO visit_types (tenant_id, id, clinician_id, title, description, minutes, kind, archived, created_at, updated_at) VALUES\n"
           + ",\n".join(f"('{TENANT}', 'fvt{i}', {c}, 'Återbesök', '', 15, 'video', FALSE, {now_ms}, {now_ms})"
                        for i, c in enumerate(all_clinicians)) + ";")
rows, appointments = [], []
half_year = 182 * 86_400_000
for i in range(APPOINTMENTS):
    ci = i % CLINICIANS
    slot = i // CLINICIANS
    start = now_ms - half_year + slot * (2 * half_year // (APPOINTMENTS // CLINICIANS))
    start -= start % (15 * 60_000)
    patient = patients[i % PATIENTS]
    status = random.choice(STATUSES)
    aid = str(uuid.UUID(int=random.getrandbits(128)))
    appointments.append(aid)
    rows.append(f"('{TENANT}', '{aid}', {all_clinicians[ci]}, '{patient}', 'fvt{ci}', 'Återbesök', 15, 'video', "
                f"{start}, {start + 15 * 60_000}, '{status}', '', {all_clinicians[ci]}, {now_ms}, {now_ms})")
    peer.append({"resourceType": "Appointment", "id": aid, "status": FHIR_STATUS[status],
                 "start": instant(start), "end": instant(start + 15 * 60_000), "minutesDuration": 15,
                 "participant": [
                     {"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"},
                     {"actor": {"reference": f"Practitioner/{peer_clinicians[ci]}"}, "status": "accepted"}]})
for i in range(0, len(rows), 250):
    sql.append("INSERT INTO bookings (tenant_id, id, clinician_id, patient_id, visit_type_id, title, minutes, kind, starts_at, ends_at, "
               "status, message, created_by, created_at, updated_at) VALUES\n" + ",\n".join(rows[i:i + 250]) + ";")

with open(f"{out_dir}/tillit.sql", "w") as f:
    f.write("\n".join(sql) + "\n")
with open(f"{out_dir}/peer.ndjson", "w") as f:
    f.writelines(json.dumps(r) + "\n" for r in peer)
with open(f"{out_dir}/patients.txt", "w") as f:
    f.writelines(p + "\n" for p in patients)
with open(f"{out_dir}/appointments.txt", "w") as f:
    f.writelines(a + "\n" for a in appointments)
