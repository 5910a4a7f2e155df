#!/usr/bin/env python
"""Check the documentation site in a real browser: build, serve on 127.0.0.1, load, inspect.

Builds the site with ``mkdocs build --strict`` into a temporary folder, serves it on a free
port of 127.0.0.1, and loads every page in headless Chromium (Debian's ``chromium``), driven
over the DevTools protocol with the standard library only. The home page, a derivation page and
an API page must show rendered math. A page fails when:

* it logs a console error, throws an uncaught exception, or fails to load a resource;
* it has fewer math elements than required (KaTeX's ``.katex`` spans), or an ``.arithmatex``
  element that KaTeX did not render;
* its text outside code still contains a raw ``$$``.

Screenshots of the three pages go to ``docs-screenshots/`` (ignored by git). Nothing is
fetched from the internet: the site vendors its math renderer.

Usage::

    python scripts/check_docs_browser.py [--chromium PATH] [--out docs-screenshots]

Exit status 0 when every page passes, 1 when one fails, 2 when Chromium cannot be started.
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.server
import json
import os
import pathlib
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Pages that must show math: (path under the site, screenshot name, least number of rendered
# math elements). Every other page is loaded too, with no minimum and no screenshot.
PAGES = (
    ("", "home", 1),
    ("derivations/q1/", "derivation-q1", 20),
    ("api/logistic/", "api-logistic", 1),
)

_PROBE = """(() => {
  const katex = document.querySelectorAll('.katex').length;
  const unrendered = [...document.querySelectorAll('.arithmatex')]
      .filter(e => !e.querySelector('.katex')).length;
  const prose = document.body.cloneNode(true);
  prose.querySelectorAll('code, pre').forEach(e => e.remove());  // markup shown as code is fine
  const text = prose.textContent;
  return JSON.stringify({katex, unrendered, raw: text.includes('$$'),
                         title: document.title, height: document.body.scrollHeight});
})()"""


class _WebSocket:
    """The few lines of RFC 6455 a DevTools client needs (text frames, client masking)."""

    def __init__(self, url: str):
        m = re.fullmatch(r"ws://([^/:]+):(\d+)(/.*)", url)
        self.sock = socket.create_connection((m.group(1), int(m.group(2))), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {m.group(3)} HTTP/1.1\r\nHost: {m.group(1)}:{m.group(2)}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           ).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError(f"DevTools websocket refused: {head[:200]!r}")

    def _read(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise RuntimeError("DevTools websocket closed")
            out += chunk
        return out

    def send(self, text: str) -> None:
        data = text.encode()
        mask = os.urandom(4)
        n = len(data)
        if n < 126:
            head = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 1 << 16:
            head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(head + mask + body)

    def recv(self) -> str:
        message = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(n)
            if b0 & 0x0F in (0x1, 0x0):
                message += payload
                if b0 & 0x80:
                    return message.decode()


class _DevTools:
    def __init__(self, url: str):
        self.ws = _WebSocket(url)
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_for(self, method: str, timeout: float) -> None:
        end = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > end:
                raise TimeoutError(f"no {method} within {timeout} s")
            self.events.append(json.loads(self.ws.recv()))


def _errors(events: list[dict]) -> list[str]:
    """The console errors, exceptions and failed loads among DevTools events."""
    out = []
    for e in events:
        p = e.get("params", {})
        if e.get("method") == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append("console." + p["type"] + ": " + " ".join(
                str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif e.get("method") == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            out.append("exception: " + d.get("exception", {}).get("description", d.get("text", "")))
        elif e.get("method") == "Log.entryAdded" and p["entry"].get("level") == "error":
            out.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
    return out


def _serve(site: pathlib.Path) -> http.server.ThreadingHTTPServer:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _start_chromium(binary: str, profile: pathlib.Path) -> tuple[subprocess.Popen, str]:
    args = [binary, "--headless=new", "--disable-gpu", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-sync",
            "--disable-background-networking", "--disable-component-update",
            "--remote-debugging-port=0", "--remote-allow-origins=*",
            f"--user-data-dir={profile}", "--window-size=1280,1800", "about:blank"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.insert(1, "--no-sandbox")  # Chromium refuses its sandbox as root (CI containers)
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 60
    for line in proc.stderr:
        m = re.search(r"DevTools listening on (ws://\S+)", line)
        if m:
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # drain
            port = re.search(r"ws://127\.0\.0\.1:(\d+)/", m.group(1)).group(1)
            return proc, port
        if time.monotonic() > end:
            break
    proc.kill()
    raise RuntimeError(f"{binary} did not start its DevTools endpoint")


def _check_page(port: str, url: str, shot: pathlib.Path | None, min_math: int) -> list[str]:
    targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30))
    page = next(t for t in targets if t["type"] == "page")
    dt = _DevTools(page["webSocketDebuggerUrl"])
    for domain in ("Page", "Runtime", "Log"):
        dt.call(f"{domain}.enable")
    dt.events.clear()
    dt.call("Page.navigate", url=url)
    dt.wait_for("Page.loadEventFired", timeout=60)
    time.sleep(1.0)  # let the math render and late requests finish
    probe = json.loads(dt.call("Runtime.evaluate", expression=_PROBE,
                               returnByValue=True)["result"]["value"])
    if shot is not None:
        height = min(int(probe["height"]), 6000)
        dt.call("Emulation.setDeviceMetricsOverride", width=1280, height=height,
                deviceScaleFactor=1, mobile=False)
        png = dt.call("Page.captureScreenshot", format="png")["data"]
        shot.write_bytes(base64.b64decode(png))
        dt.call("Emulation.clearDeviceMetricsOverride")
    problems = _errors(dt.events)
    if probe["katex"] < min_math:
        problems.append(f"{probe['katex']} rendered math elements, expected at least {min_math}")
    if probe["unrendered"]:
        problems.append(f"{probe['unrendered']} math elements left unrendered")
    if probe["raw"]:
        problems.append("raw $$ left in the page text")
    print(f"{'ok  ' if not problems else 'FAIL'} {url}: {probe['katex']} math elements, "
          f"title {probe['title']!r}" + (f", screenshot {shot}" if shot else ""))
    dt.ws.sock.close()
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chromium", default=None,
                        help="the browser binary (default: chromium or chromium-browser on PATH)")
    parser.add_argument("--out", default=str(ROOT / "docs-screenshots"),
                        help="folder for the screenshots (default docs-screenshots/)")
    args = parser.parse_args(argv)
    binary = args.chromium or shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        print("--chromium: expected a Chromium binary, found none on PATH (Debian: "
              "apt-get install chromium)", file=sys.stderr)
        return 2
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        t0 = time.perf_counter()
        build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
                                "--site-dir", str(tmp / "site")], cwd=ROOT,
                               capture_output=True, text=True)
        if build.returncode != 0:
            print(build.stdout + build.stderr, file=sys.stderr)
            print("mkdocs build --strict failed", file=sys.stderr)
            return 1
        print(f"built the site in {time.perf_counter() - t0:.1f} s")
        server = _serve(tmp / "site")
        try:
            proc, port = _start_chromium(binary, tmp / "profile")
        except (OSError, RuntimeError) as e:
            server.shutdown()
            print(f"--chromium: could not start {binary}: {e}", file=sys.stderr)
            return 2
        failures = {}
        try:
            base = f"http://127.0.0.1:{server.server_address[1]}/"
            named = {path: (name, least) for path, name, least in PAGES}
            every = sorted(str(p.parent.relative_to(tmp / "site")) + "/"
                           for p in (tmp / "site").rglob("index.html"))
            every = ["" if p == "./" else p for p in every]
            missing = set(named) - set(every)
            if missing:
                failures["site"] = [f"pages {sorted(missing)} are not in the built site"]
            for path in [p for p, _, _ in PAGES if p in every] + [
                    p for p in every if p not in named]:
                name, least = named.get(path, (None, 0))
                shot = out / f"{name}.png" if name else None
                problems = _check_page(port, base + path, shot, least)
                if problems:
                    failures[path or "/"] = problems
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            server.shutdown()
    for path, problems in failures.items():
        for p in problems:
            print(f"{path}: {p}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
