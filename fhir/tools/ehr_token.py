#!/usr/bin/env python3
"""Gets a SMART Backend Services access token from a Tillit tenant, as an
EHR does: signs a client assertion (RS384) with a private key and posts it
to the tenant's token endpoint. Standard library and the `openssl` command
only. For trying the FHIR API by hand against `cargo xtask run`:

    TOKEN=$(python3 fhir/tools/ehr_token.py http://demo.localhost:8080)
    curl -H "Authorization: Bearer $TOKEN" http://demo.localhost:8080/fhir/R4/Patient

The defaults are the demo tenant's registered client (`demo-journal`) and
the test key in fhir/tests/keys/ that its JWK Set holds: public, for
development only.
"""

import argparse
import base64
import http.client
import json
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

KEYS = Path(__file__).resolve().parent.parent / "tests" / "keys"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assertion(client: str, token_url: str, key: Path, kid: str) -> str:
    header = {"alg": "RS384", "typ": "JWT", "kid": kid}
    now = int(time.time())
    claims = {"iss": client, "sub": client, "aud": token_url,
              "exp": now + 240, "jti": str(uuid.uuid4())}
    signing_input = (b64url(json.dumps(header).encode()) + "."
                     + b64url(json.dumps(claims).encode()))
    signature = subprocess.run(
        ["openssl", "dgst", "-sha384", "-sign", str(key)],
        input=signing_input.encode(), capture_output=True, check=True).stdout
    return signing_input + "." + b64url(signature)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("origin", help="the tenant's origin, e.g. http://demo.localhost:8080")
    p.add_argument("--client", default="demo-journal")
    p.add_argument("--scope", default="system/Patient.cruds system/Practitioner.rs system/PractitionerRole.rs system/Appointment.cruds system/Encounter.rs system/Schedule.rs system/Slot.rs")
    p.add_argument("--key", type=Path, default=KEYS / "rsa-registered.pem")
    p.add_argument("--kid", default="rsa-1")
    args = p.parse_args()
    token_url = args.origin.rstrip("/") + "/fhir/R4/auth/token"
    form = urllib.parse.urlencode({
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion(args.client, token_url, args.key, args.kid),
        "scope": args.scope,
    }).encode()
    url = urllib.parse.urlsplit(token_url)
    # Browsers and curl send *.localhost to this machine; not every
    # system resolver does, so connect there and name the host.
    address = "127.0.0.1" if (url.hostname or "").endswith("localhost") else url.hostname
    connection = (http.client.HTTPSConnection if url.scheme == "https"
                  else http.client.HTTPConnection)(address, url.port)
    connection.request("POST", url.path, body=form, headers={
        "Host": url.netloc,
        "Content-Type": "application/x-www-form-urlencoded",
    })
    response = connection.getresponse()
    body = response.read().decode()
    if response.status != 200:
        print(f"{token_url}: {response.status} {body}", file=sys.stderr)
        return 1
    print(json.loads(body)["access_token"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
