"""The pages in a real browser: headless Chromium loads each page from a loopback HTTP server,
the JSON-LD is read back from the DOM after load (and by extruct, as crawlers do) and must equal
`dist/schemaorg/<id>.jsonld`. Screenshots go to tests/output/ (gitignored).

One browser serves every page, driven over the DevTools protocol (websocket-client): starting
Chromium once instead of once per page keeps the test to seconds.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipeline.build import run_pipeline
from tests.conftest import DATA, FIXTURES, MINIMAL, ROOT
from tests.test_site import Page

OUTPUT = ROOT / "tests" / "output"
BUILDS = {"minimal": MINIMAL, "hostile": FIXTURES / "hostile", "corpus": DATA}
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
]
WIDTH, MAX_SHOT_HEIGHT = 1280, 2400
SHOTS = {"index", "muscle-cramp", "nocturnal-leg-cramps"}  # corpus pages to photograph


def _find_chromium() -> str | None:
    return next((p for n in ("chromium", "chromium-browser") if (p := shutil.which(n))), None)


@pytest.fixture(scope="module")
def chromium_path() -> str:
    """Debian's chromium, installed when missing (CI runs as root); never a hub download."""
    found = _find_chromium()
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update"], check=True, env=env, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "chromium"], check=True, env=env, timeout=1200)
        found = _find_chromium()
    if found is None:
        pytest.skip(
            "chromium is not installed and this user cannot install it "
            "(run `apt-get install -y chromium` as root)"
        )
    return found


class Browser:
    """A headless Chromium and one tab, spoken to over the DevTools protocol."""

    def __init__(self, executable: str, profile: Path):
        import websocket

        self.proc = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and len(port_file.read_text().split()) == 2):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.05)
        port, path = port_file.read_text().split()
        self.ws = websocket.create_connection(
            f"ws://127.0.0.1:{port}{path}", timeout=60, suppress_origin=True
        )
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.call("Page.enable", session=True)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=WIDTH,
            height=900,
            deviceScaleFactor=1,
            mobile=False,
        )

    def call(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply["result"]
                return result
            self.events.append(reply)

    def open(self, url: str) -> None:
        """Navigate and wait for the load event."""
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self.events.append(json.loads(self.ws.recv()))

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", session=True, expression=expression, returnByValue=True
        )
        return result["result"].get("value")

    def screenshot(self, path: Path) -> None:
        height = min(self.evaluate("document.documentElement.scrollHeight"), MAX_SHOT_HEIGHT)
        shot = self.call(
            "Page.captureScreenshot",
            session=True,
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1},
        )
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        if getattr(self, "ws", None) is not None:
            self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def browser(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    b = Browser(chromium_path, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield b
    finally:
        b.close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The three builds written under one folder, served on 127.0.0.1 by a thread."""
    root = tmp_path_factory.mktemp("served")
    for name, data in BUILDS.items():
        result = run_pipeline(data, validate=False, exporters=["schemaorg", "site"])
        assert result.report.conforms, result.report.to_text()
        for rel, content in result.files.items():
            target = root / name / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    handler = functools.partial(_Quiet, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def _pages(root: Path) -> list[tuple[str, str]]:
    return sorted((b, p.stem) for b in BUILDS for p in (root / b / "site").glob("*.html"))


_READ_SCRIPTS = "Array.from(document.scripts).map(s => [s.type, s.textContent])"


def test_every_page_in_chromium(browser: Browser, site: tuple[str, Path]) -> None:
    base, root = site
    pages = _pages(root)
    assert len(pages) >= 4
    OUTPUT.mkdir(exist_ok=True)
    for build, slug in pages:
        browser.open(f"{base}/{build}/site/{slug}.html")
        scripts = browser.evaluate(_READ_SCRIPTS)
        dom = Page(browser.evaluate("document.documentElement.outerHTML"))
        if build != "corpus" or slug in SHOTS:  # a picture costs more than a check
            shot = OUTPUT / f"{build}-{slug}.png"
            browser.screenshot(shot)
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if slug == "index":
            assert scripts == []
            continue
        expected = json.loads((root / build / "schemaorg" / f"{slug}.jsonld").read_bytes())
        # one data block, no script ran, and the parser handed the JSON over intact
        assert [kind for kind, _ in scripts] == ["application/ld+json"], (build, slug)
        assert json.loads(scripts[0][1]) == expected, (build, slug)
        assert dom.jsonld() == [expected]
        assert " ".join(expected["name"].split()) in dom.text
        assert browser.evaluate("document.querySelectorAll('svg.evidence-map').length") == 1


def test_hostile_labels_render_as_text(browser: Browser, site: tuple[str, Path]) -> None:
    base, _ = site
    browser.open(f"{base}/hostile/site/muscle-cramp.html")
    assert browser.evaluate("document.title") == (
        "Muscle cramp </script><script>alert(1)</script>: what the sources say"
    )
    assert browser.evaluate("document.querySelector('h1').textContent") == (
        "Muscle cramp </script><script>alert(1)</script>: what the sources say"
    )
    assert browser.evaluate("document.querySelectorAll('img, iframe, object').length") == 0


def test_extruct_reads_the_same_markup(site: tuple[str, Path]) -> None:
    import extruct

    base, root = site
    for build, slug in _pages(root):
        url = f"{base}/{build}/site/{slug}.html"
        with urllib.request.urlopen(url, timeout=30) as response:  # the loopback server
            html = response.read().decode("utf-8")
        found = extruct.extract(html, base_url=url, syntaxes=["json-ld"], uniform=False)
        if slug == "index":
            assert found["json-ld"] == []
            continue
        expected = json.loads((root / build / "schemaorg" / f"{slug}.jsonld").read_bytes())
        assert found["json-ld"] == [expected], (build, slug)
