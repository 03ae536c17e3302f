#!/usr/bin/env python3
"""Start Tillit exactly as the README's run command does, and use it.

From the repository root, with no configuration: `cargo xtask run` (the
plugins, the build, `tillit serve` on the embedded default with its
relative paths `data/`, `tenants/`, `themes/`, `plugins/target/dist`).
Then, as a new user would: wait for /readyz on the operators' address
(server.ops_listen, 127.0.0.1:9090 by default; the portals do not serve
it), open the demo tenant's login page, log in with the test login as the
clinician the banner names, load the home page logged in, and stop with
Ctrl-C. Any step that does not work fails CI, with the server's output.

Standard library only: CI needs nothing installed for it.
"""

import html.parser
import http.client
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

HOST = "demo.localhost:8080"
ADDR = ("127.0.0.1", 8080)
# Health, readiness and metrics: server.ops_listen's default.
OPS_ADDR = ("127.0.0.1", 9090)
# The clinician of tenants/demo.toml, as printed in the banner.
CLINICIAN = "19811218-9876"
# The first build of the release binary and the plugins on a cold machine.
START_TIMEOUT = 40 * 60


class Failed(Exception):
    pass


def ops_request(path):
    conn = http.client.HTTPConnection(*OPS_ADDR, timeout=30)
    conn.request("GET", path)
    res = conn.getresponse()
    text = res.read().decode("utf-8", "replace")
    conn.close()
    return res.status, text


def request(method, path, cookies, body=None, headers=None):
    conn = http.client.HTTPConnection(*ADDR, timeout=30)
    hdrs = {"Host": HOST}
    if cookies:
        hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    if body is not None:
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        hdrs["Origin"] = f"http://{HOST}"
    hdrs.update(headers or {})
    conn.request(method, path, body=body, headers=hdrs)
    res = conn.getresponse()
    text = res.read().decode("utf-8", "replace")
    for value in res.headers.get_all("Set-Cookie") or []:
        name, _, rest = value.partition("=")
        val = rest.split(";", 1)[0]
        if re.search(r"(?i)max-age=0", value):
            cookies.pop(name.strip(), None)
        else:
            cookies[name.strip()] = val
    conn.close()
    return res.status, res.headers, text


class Inputs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.values = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and "name" in a:
            self.values[a["name"]] = a.get("value") or ""


def step(name):
    print(f"smoke: {name}", flush=True)


def check(server, log_path):
    step(f"waiting for http://{OPS_ADDR[0]}:{OPS_ADDR[1]}/readyz (the build comes first)")
    started = time.monotonic()
    while True:
        if server.poll() is not None:
            raise Failed(f"`cargo xtask run` exited with {server.returncode} before it was ready")
        try:
            status, _ = ops_request("/readyz")
            if status == 200:
                break
        except OSError:
            pass
        if time.monotonic() - started > START_TIMEOUT:
            raise Failed(f"/readyz did not answer 200 within {START_TIMEOUT} s")
        time.sleep(2)
    step(f"ready after {time.monotonic() - started:.0f} s")

    cookies = {}
    status, _, page = request("GET", "/login", cookies)
    if status != 200:
        raise Failed(f"GET /login answered {status}")
    form = Inputs()
    form.feed(page)
    if "_csrf" not in form.values or "personnummer" not in form.values:
        raise Failed("the login page has no test login form (_csrf, personnummer)")

    step(f"logging in as {CLINICIAN} with the test login")
    body = urllib.parse.urlencode({"_csrf": form.values["_csrf"], "personnummer": CLINICIAN})
    status, headers, page = request("POST", "/login/test", cookies, body=body)
    if status not in (302, 303):
        raise Failed(f"POST /login/test answered {status}, not a redirect:\n{page[:2000]}")
    target = headers.get("Location", "/")

    status, _, page = request("GET", target, cookies)
    if status != 200:
        raise Failed(f"GET {target} after logging in answered {status}")
    if 'action="/logout"' not in page:
        raise Failed(f"GET {target} after logging in does not show a logged-in page")
    status, _, page = request("GET", "/", cookies)
    if status != 200 or 'action="/logout"' not in page:
        raise Failed(f"the home page answered {status} and is not the logged-in home page")
    step("logged in; the home page loads")

    status, text = ops_request("/metrics")
    if status != 200 or "http_requests_total" not in text:
        raise Failed(f"GET /metrics on the operators' address answered {status} without the request counts")
    status, _, _ = request("GET", "/metrics", {})
    if status != 404:
        raise Failed(f"the demo tenant's host answered /metrics with {status}; only the operators' address serves it")
    step("metrics on the operators' address only")

    with open(log_path, encoding="utf-8", errors="replace") as f:
        output = f.read()
    if "plugin loaded" not in output:
        raise Failed("the demo tenant's plugins were not loaded (no 'plugin loaded' in the output)")
    for bad in ("plugin refused", "ERROR"):
        if bad in output:
            raise Failed(f"the server's output says {bad!r}")


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for addr in (ADDR, OPS_ADDR):
        probe = http.client.HTTPConnection(*addr, timeout=2)
        try:
            probe.connect()
            probe.close()
            print(f"smoke: something already listens on {addr[0]}:{addr[1]}; stop it first", file=sys.stderr)
            return 1
        except OSError:
            pass

    log = tempfile.NamedTemporaryFile("w+b", prefix="tillit-smoke-", suffix=".log", delete=False)
    step("cargo xtask run (as the README says, from " + root + ")")
    server = subprocess.Popen(
        ["cargo", "xtask", "run"],
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    failure = None
    try:
        check(server, log.name)
    except Failed as e:
        failure = str(e)
    finally:
        if server.poll() is None:
            step("stopping with Ctrl-C")
            os.killpg(server.pid, signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                failure = failure or "tillit did not stop within 30 s of Ctrl-C"
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
    if failure:
        with open(log.name, encoding="utf-8", errors="replace") as f:
            tail = f.read()[-8000:]
        print(f"smoke: FAILED: {failure}\n--- output of `cargo xtask run` (end) ---\n{tail}", file=sys.stderr)
        return 1
    os.unlink(log.name)
    step("passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
