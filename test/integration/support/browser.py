"""Headless Chromium (Debian's `chromium`) driven over its DevTools protocol, for the tests of
pages the gateway renders itself (the status console). Started on loopback with a throw-away
profile and no background networking, stopped by the test; every console message, exception,
failed request and HTTP error of the page is recorded so a test can assert there were none.
The protocol runs over python3-websocket (Debian's websocket-client)."""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

import websocket

CHROMIUM = os.environ.get("MGW_CHROMIUM", "/usr/bin/chromium")


class Chromium:
    """One headless browser process with one page (tab) attached over CDP."""

    def __init__(self, timeout=20.0):
        self.page = None
        self.profile = tempfile.mkdtemp(prefix="mgw-chromium-")
        try:
            self._start(timeout)
        except BaseException:
            self.stop()  # no browser left behind by a start that failed
            raise

    def _start(self, timeout):
        self.log = open(os.path.join(self.profile, "chromium.log"), "wb")
        # --remote-debugging-port=0: Chromium picks a free port and writes it to
        # DevToolsActivePort in the profile; the DevTools server listens on 127.0.0.1 only.
        self.process = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-background-networking",
             "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-component-update", "--disable-sync",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             f"--user-data-dir={self.profile}", "about:blank"],
            stdout=self.log, stderr=subprocess.STDOUT)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + timeout
        while not (os.path.exists(port_file) and open(port_file).read().count("\n") >= 1):
            if self.process.poll() is not None:
                raise AssertionError(f"chromium exited ({self.process.returncode}):\n"
                                     + self.output())
            if time.monotonic() > deadline:
                raise AssertionError("chromium did not open its DevTools port:\n"
                                     + self.output())
            time.sleep(0.05)
        self.port = int(open(port_file).read().split("\n")[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=5) as r:
            targets = json.load(r)
        page = next(t for t in targets if t["type"] == "page")
        self.version = self._json("/json/version")["Browser"]
        self.page = Page(page["webSocketDebuggerUrl"])

    def _json(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
            return json.load(r)

    def output(self):
        self.log.flush()
        with open(os.path.join(self.profile, "chromium.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.page:
            self.page.close()
            self.page = None
        process = getattr(self, "process", None)
        if process and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if getattr(self, "log", None):
            self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    """A CDP session on one page: commands, and the page's events kept in order."""

    def __init__(self, ws_url):
        # No Origin header: Chromium refuses DevTools WebSockets from origins it was not told of.
        self.ws = websocket.create_connection(ws_url, timeout=20, suppress_origin=True)
        self.next_id = 0
        self.events = []
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable")

    def send(self, method, params=None, timeout=20.0):
        """Sends a command; returns its result, keeping the events that arrive meanwhile."""
        self.next_id += 1
        command_id = self.next_id
        self.ws.send(json.dumps({"id": command_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline, f"the answer to {method}")
            if message.get("id") == command_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message.get("result", {})

    def _receive(self, deadline, what):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out waiting for {what}")
        self.ws.settimeout(remaining)
        try:
            message = json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            raise AssertionError(f"timed out waiting for {what}") from None
        if "method" in message:
            self.events.append(message)
        return message

    def wait_event(self, method, since=0, timeout=20.0):
        """The first `method` event at or after index `since` of self.events."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events[since:]:
                if event["method"] == method:
                    return event
            self._receive(deadline, method)

    def navigate(self, url, timeout=20.0):
        """Loads `url` and waits for its load event; returns the main document's response."""
        since = len(self.events)
        result = self.send("Page.navigate", {"url": url})
        if "errorText" in result:
            raise AssertionError(f"navigation to {url} failed: {result['errorText']}")
        self.wait_event("Page.loadEventFired", since, timeout)
        return self.document_response(since)

    def document_response(self, since):
        for event in self.events[since:]:
            if (event["method"] == "Network.responseReceived"
                    and event["params"]["type"] == "Document"):
                return event["params"]["response"]
        return None

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate", {"expression": expression,
                                                "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path):
        """The whole page (beyond the viewport) as a PNG file."""
        data = self.send("Page.captureScreenshot",
                         {"format": "png", "captureBeyondViewport": True})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def problems(self, since=0):
        """Console errors and warnings, uncaught exceptions, failed requests and HTTP errors
        among the events from index `since`."""
        found = []
        for event in self.events[since:]:
            method, params = event["method"], event["params"]
            if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning",
                                                                             "assert"):
                found.append(f"console.{params['type']}: {params['args']}")
            elif method == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails']}")
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                found.append(f"log {params['entry']['level']}: {params['entry']['text']} "
                             f"({params['entry'].get('url', '')})")
            elif method == "Network.loadingFailed":
                found.append(f"request failed: {params.get('errorText')} "
                             f"({params.get('type')})")
            elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
                found.append(f"HTTP {params['response']['status']}: {params['response']['url']}")
        return found

    def requests(self, since=0):
        """The URLs the page asked for."""
        return [e["params"]["request"]["url"] for e in self.events[since:]
                if e["method"] == "Network.requestWillBeSent"]

    def close(self):
        try:
            self.ws.close()
        except OSError:
            pass
