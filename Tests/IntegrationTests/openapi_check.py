#!/usr/bin/env python3
"""Checks recorded gateway responses against the OpenAPI document (docs/openapi.json).

Usage: openapi_check.py [--document FILE] [--require-operations] LOG...

Each LOG holds one JSON object per line, as Tests/IntegrationTests/Support.swift's ResponseLog writes them:
{"method","path","status","content_type","headers":{lowercased name: value},"body","truncated","body_read"}.

1. The document itself must be a valid OpenAPI 3.1 document (openapi-spec-validator).
2. Each response must match a path item (templates such as /v1/streams/{team}/{app}/events) and an operation of its
   method; its status must be documented (or `default`); its Content-Type must be one the document gives for that
   status; a JSON body (application/json, application/problem+json) must validate against the schema
   (openapi-schema-validator's OAS 3.1 validator, formats checked); every header the document marks required must
   be there, and every documented header that is there must match its schema. Server-sent event streams and
   truncated bodies are checked for status, content type and headers only. A request to a path or method the
   document does not have passes only as the router's own answer: 404 `not-found` or 405 `method-not-allowed`
   problem+json (counted apart). A response without X-Request-Id, X-Processing-Latency and Server-Timing is not the
   gateway's (a test peer's, such as the webhook receiver's) and is skipped (counted apart).
3. With --require-operations, every documented operation must have been exercised at least once.

Prints the counts (responses checked, per operation and status) and every mismatch (grouped: the same mismatch on
the same operation is printed once with its count and first example). Exit 0 when all is well, 1 on any mismatch,
an invalid document or no responses, 2 on bad usage.
"""
import argparse
import collections
import json
import os
import re
import sys

from jsonschema.exceptions import best_match
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DOCUMENT = os.path.normpath(os.path.join(HERE, "..", "..", "Sources", "Intake", "GatewayHTTP", "OpenAPI", "openapi.json"))
METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
# The headers Support.swift records; only these can be checked for presence.
RECORDED_HEADERS = {
    "content-type", "allow", "retry-after", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "www-authenticate",
    "x-request-id", "x-processing-latency", "x-network-latency", "server-timing", "idempotent-replayed", "accept-encoding",
    "cache-control", "connection", "upgrade",
}


def resolve(document, node):
    """Follows local $refs (#/a/b) until `node` is not a reference."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        target = node["$ref"]
        if not target.startswith("#/"):
            raise ValueError(f"only local references are supported: {target}")
        node = document
        for part in target[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        seen += 1
        if seen > 32:
            raise ValueError(f"reference loop at {target}")
    return node


def media_type(value):
    return value.split(";", 1)[0].strip().lower() if value else None


def normalised(value):
    return ";".join(part.strip() for part in value.lower().split(";")) if value else None


def is_json(mime):
    return mime == "application/json" or (mime is not None and mime.endswith("+json"))


class Checker:
    def __init__(self, document):
        self.document = document
        self.templates = []
        for template, item in document.get("paths", {}).items():
            pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
            # Literal paths win over templated ones (`/v1/subscriptions/{name}` vs a literal sibling).
            self.templates.append((template.count("{"), template, re.compile(pattern), item))
        self.templates.sort(key=lambda entry: (entry[0], entry[1]))
        self.validators = {}
        self.checked = collections.Counter()
        self.unrouted = collections.Counter()
        self.mismatches = collections.OrderedDict()
        self.exercised = set()
        self.total = 0
        self.foreign = collections.Counter()

    def validator(self, schema):
        key = json.dumps(schema, sort_keys=True)
        if key not in self.validators:
            # The components travel with the schema, so `#/components/...` references resolve against it.
            rooted = dict(schema)
            rooted["components"] = self.document.get("components", {})
            self.validators[key] = OAS31Validator(rooted, format_checker=OAS31Validator.FORMAT_CHECKER)
        return self.validators[key]

    def mismatch(self, operation, reason, record, line):
        key = (operation, reason)
        entry = self.mismatches.setdefault(key, {"count": 0, "example": None})
        entry["count"] += 1
        if entry["example"] is None:
            body = record.get("body") or ""
            entry["example"] = f"{line}: {record.get('method')} {record.get('path')} -> {record.get('status')} " \
                f"{record.get('content_type')} {body[:400]!r}"

    def match_path(self, path):
        for _, template, pattern, item in self.templates:
            if pattern.match(path):
                return template, resolve(self.document, item)
        return None, None

    def router_answer(self, record):
        """A 404 not-found / 405 method-not-allowed problem: the router's answer to what it has no route for."""
        if record.get("status") not in (404, 405) or media_type(record.get("content_type")) != "application/problem+json":
            return False
        try:
            body = json.loads(record.get("body") or "")
        except ValueError:
            return False
        return isinstance(body, dict) and body.get("type") in ("urn:sluice:problem:not-found", "urn:sluice:problem:method-not-allowed")

    def check(self, record, line):
        method = str(record.get("method", "")).lower()
        path = record.get("path", "")
        status = record.get("status")
        headers = {key.lower() for key in (record.get("headers") or {})}
        if status != 101 and not headers & {"x-request-id", "x-processing-latency", "server-timing"}:
            # Every answer of the gateway's (router and edge) has these; a test peer's (a webhook receiver's) does not.
            self.foreign[f"{method.upper()} {path} {status}"] += 1
            return
        self.total += 1
        template, item = self.match_path(path)
        if item is None or method not in item:
            name = f"{method.upper()} {template or path}"
            if self.router_answer(record):
                self.unrouted[f"{name} {status}"] += 1
            else:
                self.mismatch(name, "the document has no such operation" if item is not None else "the document has no such path", record, line)
            return
        operation = resolve(self.document, item[method])
        name = f"{method.upper()} {template}"
        self.exercised.add(name)
        responses = operation.get("responses", {})
        response = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
        if response is None:
            self.mismatch(name, f"status {status} is not documented (documented: {', '.join(sorted(responses))})", record, line)
            return
        response = resolve(self.document, response)
        self.checked[f"{name} {status}"] += 1
        self.check_headers(name, status, response, record, line)
        content = response.get("content", {})
        recorded = record.get("content_type")
        if not content:
            if recorded or record.get("body"):
                self.mismatch(name, f"{status} documents no body, got {recorded!r}", record, line)
            return
        if not recorded:
            self.mismatch(name, f"{status} without a Content-Type (documented: {', '.join(content)})", record, line)
            return
        chosen = None
        for documented, media in content.items():
            if normalised(documented) == normalised(recorded):
                chosen = media
                break
        if chosen is None:
            for documented, media in content.items():
                if ";" not in documented and media_type(documented) == media_type(recorded):
                    chosen = media
                    break
        if chosen is None:
            self.mismatch(name, f"{status} with Content-Type {recorded!r}: documented {', '.join(content)}", record, line)
            return
        mime = media_type(recorded)
        if mime == "text/event-stream" or record.get("truncated") or not is_json(mime) or "schema" not in chosen:
            return
        try:
            body = json.loads(record.get("body") or "")
        except ValueError as error:
            self.mismatch(name, f"{status} {mime} body is not JSON ({error.msg})", record, line)
            return
        error = best_match(self.validator(resolve(self.document, chosen["schema"])).iter_errors(body))
        if error is not None:
            where = "/".join(str(part) for part in error.absolute_path) or "(root)"
            self.mismatch(name, f"{status} body at {where}: {error.message[:300]}", record, line)

    def check_headers(self, name, status, response, record, line):
        if status == 101:
            return
        recorded = {key.lower(): value for key, value in (record.get("headers") or {}).items()}
        for header, spec in (response.get("headers") or {}).items():
            spec = resolve(self.document, spec)
            lower = header.lower()
            if lower not in RECORDED_HEADERS:
                continue
            value = recorded.get(lower)
            if value is None:
                if spec.get("required"):
                    self.mismatch(name, f"{status} without the required header {header}", record, line)
                continue
            schema = spec.get("schema")
            if schema is not None:
                error = best_match(self.validator(resolve(self.document, schema)).iter_errors(value))
                if error is not None:
                    self.mismatch(name, f"{status} header {header}: {error.message[:200]}", record, line)

    def operations(self):
        for template, item in self.document.get("paths", {}).items():
            item = resolve(self.document, item)
            for method in METHODS:
                if method in item:
                    yield f"{method.upper()} {template}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--document", default=DEFAULT_DOCUMENT)
    parser.add_argument("--require-operations", action="store_true", help="fail when a documented operation was not exercised")
    parser.add_argument("logs", nargs="+")
    arguments = parser.parse_args()

    with open(arguments.document, "rb") as file:
        document = json.load(file)
    try:
        validate_spec(document)
    except Exception as error:  # the validator's errors are of several types
        print(f"the document {arguments.document} is not a valid OpenAPI document: {error}")
        return 1
    if document.get("openapi") != "3.1.0":
        print(f"the document is OpenAPI {document.get('openapi')!r}, not 3.1.0")
        return 1
    print(f"document: {arguments.document}: valid OpenAPI {document['openapi']}")

    checker = Checker(document)
    for log in arguments.logs:
        with open(log, encoding="utf-8") as file:
            for number, text in enumerate(file, start=1):
                if not text.strip():
                    continue
                try:
                    record = json.loads(text)
                except ValueError as error:
                    checker.mismatch("(log)", f"not a JSON line: {error}", {}, f"{log}:{number}")
                    continue
                checker.check(record, f"{os.path.basename(log)}:{number}")

    print(f"responses: {checker.total}, checked against an operation: {sum(checker.checked.values())}, "
          f"router answers to undocumented paths or methods: {sum(checker.unrouted.values())}; "
          f"skipped, not from the gateway (no X-Request-Id, X-Processing-Latency or Server-Timing): {sum(checker.foreign.values())}")
    for key, count in sorted(checker.checked.items()):
        print(f"  {count:7d}  {key}")
    for key, count in sorted(checker.unrouted.items()):
        print(f"  {count:7d}  {key} (not routed)")
    for key, count in sorted(checker.foreign.items()):
        print(f"  {count:7d}  {key} (skipped: not from the gateway)")
    failed = False
    if checker.total == 0:
        print("no responses were recorded")
        failed = True
    missing = [operation for operation in checker.operations() if operation not in checker.exercised]
    if missing:
        print(f"documented operations not exercised: {len(missing)}")
        for operation in missing:
            print(f"  {operation}")
        if arguments.require_operations:
            failed = True
    count = sum(entry["count"] for entry in checker.mismatches.values())
    print(f"mismatches: {count}")
    for (operation, reason), entry in checker.mismatches.items():
        print(f"  {entry['count']:5d} x {operation}: {reason}\n          e.g. {entry['example']}")
    return 1 if failed or count else 0


if __name__ == "__main__":
    sys.exit(main())
