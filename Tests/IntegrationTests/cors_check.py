#!/usr/bin/env python3
"""Cross-origin calls to the gateway from pages in headless Chromium (Debian's chromium + chromedriver, selenium).

  cors_check.py GATEWAY_URL PAGE_PORT API_KEY SCREENSHOT.png

Serves a page on 127.0.0.1:PAGE_PORT and opens it twice: as http://127.0.0.1:PAGE_PORT (an allowed origin) and as
http://localhost:PAGE_PORT (not allowed). On each, the page posts an event with fetch (JSON and X-Api-Key, so the
browser sends a preflight first), reads X-Request-Id and RateLimit-Remaining from the answer, and sends one with
navigator.sendBeacon (a text/plain body, as browsers send a string). Prints one JSON object with what each page saw.
"""
import functools
import http.server
import json
import os
import sys
import tempfile
import threading

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

PAGE = """<!doctype html><html><body><h1 id="state">cors check</h1><script>
async function run(gateway, key, tag) {
  const out = {};
  try {
    const response = await fetch(gateway + "/v1/events", {method: "POST",
      headers: {"Content-Type": "application/json", "X-Api-Key": key},
      body: JSON.stringify({team: "shop", app: "orders", event_id: "fetch-" + tag, payload: {via: "fetch"}})});
    out.fetch_status = response.status;
    out.request_id = response.headers.get("X-Request-Id");
    out.ratelimit_remaining = response.headers.get("RateLimit-Remaining");
    out.body = await response.json();
  } catch (error) {
    out.fetch_error = String(error);
  }
  out.beacon_queued = navigator.sendBeacon(gateway + "/v1/events",
    JSON.stringify({team: "web", app: "clicks", event_id: "beacon-" + tag, payload: {via: "beacon"}}));
  document.getElementById("state").textContent = JSON.stringify(out);
  return out;
}
</script></body></html>"""


def main(gateway, port, key, screenshot):
    directory = tempfile.mkdtemp()
    with open(os.path.join(directory, "page.html"), "w") as f:
        f.write(PAGE)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1000,600"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_script_timeout(30)
    result = {}
    try:
        for tag, host in (("allowed", "127.0.0.1"), ("denied", "localhost")):
            driver.get("http://%s:%s/page.html" % (host, port))
            result[tag] = driver.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "run(arguments[0], arguments[1], arguments[2]).then(done, e => done({script_error: String(e)}));",
                gateway, key, tag)
            if tag == "allowed":
                driver.save_screenshot(screenshot)
    finally:
        driver.quit()
        server.shutdown()
    print(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:5])
