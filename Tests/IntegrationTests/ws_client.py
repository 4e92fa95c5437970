#!/usr/bin/env python3
"""The independent WebSocket live-stream client of the integration tests (the `websockets` package of .tools/venv).

  ws_client.py URL COUNT
      Connects to URL (ws://…/v1/streams/{team}/{app}/live?…), prints "open" once the upgrade succeeded, then one JSON
      line per event, {"event_id": …, "sequence": …}, and {"notice": "lagged", "data": {…}} per gap notice, until
      COUNT events arrived (exit 0); prints "closed CODE REASON" and exits 3 when the server closes first.
  ws_client.py URL refused
      Expects the gateway to close the connection before any event: prints "closed CODE REASON" (exit 0), or
      "message …" when an event comes instead (exit 4).
"""
import json
import sys

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def follow(url, count):
    with connect(url, open_timeout=20, max_size=None) as socket:
        print("open", flush=True)
        received = 0
        try:
            while received < count:
                message = json.loads(socket.recv(timeout=120))
                if message.get("type") == "lagged":
                    print(json.dumps({"notice": "lagged", "data": message}), flush=True)
                    continue
                print(json.dumps({"event_id": message["event"]["event_id"], "sequence": message["sequence"]}), flush=True)
                received += 1
        except ConnectionClosed as closed:
            print(f"closed {closed.rcvd.code if closed.rcvd else ''} {closed.rcvd.reason if closed.rcvd else ''}", flush=True)
            return 3
    return 0


def refused(url):
    with connect(url, open_timeout=20) as socket:
        try:
            message = socket.recv(timeout=20)
        except ConnectionClosed as closed:
            print(f"closed {closed.rcvd.code if closed.rcvd else 'none'} {closed.rcvd.reason if closed.rcvd else ''}", flush=True)
            return 0
        print(f"message {message}", flush=True)
        return 4


if __name__ == "__main__":
    if sys.argv[2] == "refused":
        sys.exit(refused(sys.argv[1]))
    sys.exit(follow(sys.argv[1], int(sys.argv[2])))
