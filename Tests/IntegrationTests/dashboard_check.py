#!/usr/bin/env python3
"""Drives the gateway's /dashboard in headless Chromium (Debian's chromium + chromedriver, selenium).

  dashboard_check.py BASE_URL SCREENSHOT.png

Opens /dashboard?stream=shop/orders, posts 20 events to shop/orders while the page is open, and checks:
- the live tail shows every one of them, and the capture-to-screen latency figures are filled in;
- the per-stream event count and the route counts on the page equal the sums of sluice_events_total in /metrics;
- the sinks table lists every sink of /health.
Saves a screenshot. Prints one JSON object with what it saw; exits 0 when every check passed, 1 otherwise.
"""
import json
import re
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


def post(base, n):
    body = json.dumps({"team": "shop", "app": "orders", "partition_key": "k%d" % (n % 3), "event_id": "dash-%d" % n,
                       "payload": {"n": n}}).encode()
    request = urllib.request.Request(base + "/v1/events", data=body, headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request).read()


def metric_sums(base):
    text = urllib.request.urlopen(base + "/metrics").read().decode()
    streams, routes = {}, {}
    for line in text.splitlines():
        match = re.match(r'^sluice_events_total\{(.*)\}\s+(\S+)$', line)
        if not match:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(1)))
        value = float(match.group(2))
        key = labels["team"] + "/" + labels["app"]
        streams[key] = streams.get(key, 0) + value
        routes[labels["route"]] = routes.get(labels["route"], 0) + value
    return streams, routes


def number(text):
    return float(text.replace(",", "")) if text.replace(",", "").replace(".", "").isdigit() else None


def wait(condition, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    return condition()


def main(base, screenshot):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    result = {"checks": {}}
    try:
        driver.get(base + "/dashboard?stream=shop/orders")
        refreshes = lambda: int(driver.find_element(By.TAG_NAME, "body").get_attribute("data-refreshes") or 0)
        wait(lambda: refreshes() >= 1)
        ids = ["dash-%d" % n for n in range(20)]
        for n in range(20):
            post(base, n)
        shown = lambda: {e.get_attribute("data-event-id") for e in driver.find_elements(By.CSS_SELECTOR, "#tail [data-event-id]")}
        wait(lambda: set(ids) <= shown())
        result["checks"]["tail shows every posted event"] = set(ids) <= shown()
        result["latency"] = {"p50": driver.find_element(By.ID, "latency-p50").text, "p99": driver.find_element(By.ID, "latency-p99").text,
                             "count": driver.find_element(By.ID, "latency-count").text}
        result["checks"]["latency shown"] = number(result["latency"]["p99"]) is not None and int(result["latency"]["count"]) >= 20

        # Intake is quiet now: after two more refreshes the page's counts are /metrics' counts.
        before = refreshes()
        wait(lambda: refreshes() >= before + 2)
        streams, routes = metric_sums(base)
        cell = driver.find_element(By.CSS_SELECTOR, 'tr[data-stream="shop/orders"] td[data-testid="events-total"]').text
        result["page_events"], result["metrics_events"] = cell, streams.get("shop/orders")
        result["checks"]["stream count matches /metrics"] = number(cell) == streams.get("shop/orders")
        page_routes = {row.get_attribute("data-route"): number(row.find_element(By.CSS_SELECTOR, 'td[data-testid="route-events"]').text)
                       for row in driver.find_elements(By.CSS_SELECTOR, "#routes tr[data-route]")}
        result["page_routes"], result["metrics_routes"] = page_routes, routes
        result["checks"]["routes match /metrics"] = page_routes == routes
        health = json.loads(urllib.request.urlopen(base + "/health").read())
        page_sinks = {row.get_attribute("data-sink") for row in driver.find_elements(By.CSS_SELECTOR, "#sinks tr[data-sink]")}
        result["checks"]["sinks match /health"] = page_sinks == set(health["sinks"])
        driver.save_screenshot(screenshot)
    finally:
        driver.quit()
    print(json.dumps(result))
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
