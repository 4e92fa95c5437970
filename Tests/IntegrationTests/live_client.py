#!/usr/bin/env python3
"""The independent live-stream client of the integration tests (the standard library only).

  live_client.py URL COUNT [LAST_EVENT_ID]
      Opens URL with Accept: text/event-stream (and Last-Event-ID when given), prints "open" once the response
      headers arrived, then one JSON line per event, {"id": …, "event_id": …, "sequence": …}, until COUNT events
      arrived (exit 0) or the server ended the stream (prints "end", exit 3).
  live_client.py URL stall
      Sends the request, then never reads: a client that cannot keep up. Runs until killed.
"""
import json
import socket
import sys
import time
import urllib.parse
import urllib.request


def follow(url, count, last_event_id=None):
    request = urllib.request.Request(url, headers={"Accept": "text/event-stream"})
    if last_event_id is not None:
        request.add_header("Last-Event-ID", last_event_id)
    with urllib.request.urlopen(request, timeout=120) as response:
        print("open", flush=True)
        received, event_id, data, kind = 0, None, [], "message"
        for raw in response:
            line = raw.decode("utf-8").rstrip("\r\n")
            if line == "":
                if data and kind == "message":
                    message = json.loads("\n".join(data))
                    print(json.dumps({"id": event_id, "event_id": message["event"]["event_id"],
                                      "sequence": message["sequence"]}), flush=True)
                    received += 1
                    if received >= count:
                        return 0
                elif data:
                    print(json.dumps({"notice": kind, "data": json.loads("\n".join(data))}), flush=True)
                event_id, data, kind = None, [], "message"
            elif line.startswith(":"):
                continue
            elif line.startswith("id:"):
                event_id = line[3:].strip()
            elif line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" ") if line.startswith("data: ") else line[5:])
    print("end", flush=True)
    return 3


def stall(url):
    parts = urllib.parse.urlsplit(url)
    connection = socket.create_connection((parts.hostname, parts.port))
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    target = parts.path + ("?" + parts.query if parts.query else "")
    connection.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n" % (target, parts.netloc)).encode())
    print("open", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    if sys.argv[2] == "stall":
        stall(sys.argv[1])
    else:
        sys.exit(follow(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None))
