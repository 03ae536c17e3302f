"""Loads the FHIR benchmark's resources into the peer server: a PUT of each
line of NDJSON to BASE/<type>/<id>, keeping the ids. Stops at the first
refusal, naming it.

    python3 load_peer.py BASE FILE.ndjson
"""
import http.client
import json
import sys
import urllib.parse

base, path = sys.argv[1].rstrip("/"), sys.argv[2]
url = urllib.parse.urlsplit(base)
conn = http.client.HTTPConnection(url.hostname, url.port)
n = 0
with open(path) as f:
    for line in f:
        r = json.loads(line)
        conn.request("PUT", f"{url.path}/{r['resourceType']}/{r['id']}", body=line.encode(),
                     headers={"Content-Type": "application/fhir+json"})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status not in (200, 201):
            sys.exit(f"{r['resourceType']}/{r['id']}: {resp.status} {body[:300]!r}")
        n += 1
print(f"loaded {n} resources into {base}", file=sys.stderr)
