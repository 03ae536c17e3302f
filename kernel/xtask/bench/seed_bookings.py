"""Seed data for the booking benchmark: 10 tenants (demo plus nine generated
ones), 20 clinicians and 500 patients each, and 100,000 bookings spread over
the year around now. Writes tenant files to TENANTS_DIR and SQL to stdout,
valid for both SQLite and PostgreSQL (run it after `tillit migrate` and one
start, so the demo tenant's bootstrap people exist).

    python3 seed_bookings.py TENANTS_DIR NOW_MS > seed.sql

With `--reminders NOW_MS`, writes instead the reminders of the lateness
measurement: 300 confirmed bookings per tenant get a scheduled reminder,
due one every 130 ms per tenant from 3 s after NOW_MS (3,000 in 42 s).

    python3 seed_bookings.py --reminders NOW_MS > reminders.sql
"""
import random
import sys
import uuid

from personnummer import pnr

TENANTS = ["demo"] + [f"bench{i}" for i in range(1, 10)]
REMINDERS_PER_TENANT = 300

if sys.argv[1] == "--reminders":
    now_ms = int(sys.argv[2])
    for t in TENANTS:
        sys.stdout.write(
            "INSERT INTO notifications (tenant_id, id, booking_id, person_id, kind, channel, status, due_at, created_at) "
            f"SELECT tenant_id, 'bench-r-' || id, id, patient_id, 'reminder', 'sms', 'scheduled', "
            f"{now_ms + 3000} + 130 * (ROW_NUMBER() OVER (ORDER BY id)), {now_ms} "
            f"FROM bookings WHERE tenant_id = '{t}' AND status = 'confirmed' ORDER BY id LIMIT {REMINDERS_PER_TENANT};\n")
    sys.exit(0)

tenants_dir, now_ms = sys.argv[1], int(sys.argv[2])
random.seed(7)
CLINICIANS, PATIENTS, BOOKINGS = 20, 500, 100_000
STATUSES = ["unconfirmed", "confirmed", "confirmed", "confirmed", "cancelled", "finished"]


for t in TENANTS[1:]:
    with open(f"{tenants_dir}/{t}.toml", "w") as f:
        f.write(f'id = "{t}"\ndisplay_name = "Bench {t}"\nhosts = ["{t}.localhost"]\n'
                f'data_retention = "3650d"\n[booking]\nsms_sender = "Bench"\n')

out = sys.stdout
rows_per_insert = 500
n = 0
for t in TENANTS:
    out.write(f"INSERT INTO tenants (id, created_at) VALUES ('{t}', {now_ms}) ON CONFLICT (id) DO NOTHING;\n")
    people = []
    clinicians = [f"{t}-c{i}" for i in range(CLINICIANS)]
    patients = [f"{t}-p{i}" for i in range(PATIENTS)]
    for i, c in enumerate(clinicians):
        n += 1
        people.append(f"('{t}', '{c}', 'clinician', 'active', '{pnr(100000 + n)}', 'Klin{i}', 'Iker', {now_ms}, {now_ms}, NULL)")
    for i, p in enumerate(patients):
        n += 1
        people.append(f"('{t}', '{p}', 'patient', 'active', '{pnr(200000 + n)}', 'Pat{i}', 'Ient', {now_ms}, {now_ms}, '+4670{n:07d}')")
    for i in range(0, len(people), rows_per_insert):
        out.write("INSERT INTO people (tenant_id, id, role, status, personnummer, given_name, family_name, created_at, updated_at, phone) VALUES\n"
                  + ",\n".join(people[i:i + rows_per_insert]) + " ON CONFLICT DO NOTHING;\n")
    if t == "demo":
        # The demo clinician Karin gets her share too, under her real id, and
        # a published profile so that she can invite.
        clinicians[0] = "(SELECT id FROM people WHERE tenant_id = 'demo' AND personnummer = '198112189876')"
        out.write("INSERT INTO clinician_profiles (tenant_id, person_id, title, introduction, way_of_working, first_visit, "
                  f"visiting_address, published_at, updated_at) SELECT 'demo', id, 'Leg. psykolog', '', '', '', '', {now_ms}, {now_ms} "
                  "FROM people WHERE tenant_id = 'demo' AND personnummer = '198112189876' ON CONFLICT DO NOTHING;\n")
    vts = []
    for i, c in enumerate(clinicians):
        cid = c if c.startswith("(") else f"'{c}'"
        vts.append(f"('{t}', '{t}-vt{i}', {cid}, 'Återbesök', '', 15, 'video', FALSE, {now_ms}, {now_ms})")
    out.write("INSERT INTO visit_types (tenant_id, id, clinician_id, title, description, minutes, kind, archived, created_at, updated_at) VALUES\n"
              + ",\n".join(vts) + ";\n")
    rows = []
    per_tenant = BOOKINGS // len(TENANTS)
    year_ms = 365 * 86_400_000
    for i in range(per_tenant):
        ci = i % CLINICIANS
        cid = clinicians[ci] if clinicians[ci].startswith("(") else f"'{clinicians[ci]}'"
        # Distinct 15-minute slots per clinician, half a year back and ahead.
        slot = i // CLINICIANS
        start = now_ms - year_ms // 2 + slot * 15 * 60_000 * 70
        status = random.choice(STATUSES)
        rows.append(f"('{t}', '{uuid.uuid4()}', {cid}, '{random.choice(patients)}', '{t}-vt{ci}', 'Återbesök', 15, 'video', "
                    f"{start}, {start + 15 * 60_000}, '{status}', '', {cid}, {now_ms}, {now_ms})")
    for i in range(0, len(rows), rows_per_insert):
        out.write("INSERT INTO bookings (tenant_id, id, clinician_id, patient_id, visit_type_id, title, minutes, kind, starts_at, ends_at, "
                  "status, message, created_by, created_at, updated_at) VALUES\n" + ",\n".join(rows[i:i + rows_per_insert]) + ";\n")
