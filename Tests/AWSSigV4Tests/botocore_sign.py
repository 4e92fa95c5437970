#!/usr/bin/env python3
"""Reference SigV4 signatures from botocore, for AWSSigV4's differential test.

Reads a JSON list of requests on stdin and prints a JSON list of results on stdout, one per
request, in order: {"authorization": <botocore SigV4Auth Authorization header>,
"presigned_url": <botocore SigV4QueryAuth URL, or null when the request asks for none>}.

Request fields: access_key, secret_key, token (or null), service, region, method, url,
headers ([[name, value], ...], duplicates allowed), body_b64, amz_date ("YYYYMMDDTHHMMSSZ"),
content_sha256 (bool: send X-Amz-Content-SHA256 with the body hash), and presign (null or
{"expires": int, "unsigned_payload": bool}).

Works with botocore >= 1.30: the clock is fixed by patching both botocore.auth.datetime
(older releases call datetime.datetime.utcnow()) and botocore.auth.get_current_datetime
(newer releases). Exit status 2 when botocore cannot be imported.
"""
import base64
import datetime
import hashlib
import json
import sys
import types

try:
    import botocore
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError as error:  # pragma: no cover - reported by the Swift test
    sys.stderr.write(
        "botocore_sign.py: cannot import botocore (%s); install it with "
        "'python3 -m pip install botocore'\n" % error
    )
    sys.exit(2)

_FIXED = [datetime.datetime(2000, 1, 1)]


class _FixedDateTime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return _FIXED[0]

    @classmethod
    def now(cls, tz=None):
        return _FIXED[0] if tz is None else _FIXED[0].replace(tzinfo=tz)


botocore.auth.datetime = types.SimpleNamespace(
    datetime=_FixedDateTime,
    timezone=datetime.timezone,
    timedelta=datetime.timedelta,
)
if hasattr(botocore.auth, "get_current_datetime"):
    botocore.auth.get_current_datetime = lambda *args, **kwargs: _FIXED[0]


class _UnsignedPayloadQueryAuth(botocore.auth.SigV4QueryAuth):
    """SigV4QueryAuth whose payload hash is UNSIGNED-PAYLOAD (as S3's query signer uses)."""

    def payload(self, request):
        return botocore.auth.UNSIGNED_PAYLOAD


def _request(case, body):
    request = AWSRequest(method=case["method"], url=case["url"], data=body)
    for name, value in case["headers"]:
        request.headers[name] = value  # HTTPHeaders appends: duplicates are kept
    return request


def sign(case):
    _FIXED[0] = datetime.datetime.strptime(case["amz_date"], "%Y%m%dT%H%M%SZ")
    credentials = Credentials(case["access_key"], case["secret_key"], case.get("token"))
    body = base64.b64decode(case["body_b64"])

    request = _request(case, body)
    if case.get("content_sha256"):
        request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    botocore.auth.SigV4Auth(credentials, case["service"], case["region"]).add_auth(request)
    result = {"authorization": request.headers["Authorization"], "presigned_url": None}

    presign = case.get("presign")
    if presign is not None:
        request = _request(case, b"")
        signer_class = (
            _UnsignedPayloadQueryAuth if presign["unsigned_payload"] else botocore.auth.SigV4QueryAuth
        )
        signer_class(
            credentials, case["service"], case["region"], expires=presign["expires"]
        ).add_auth(request)
        result["presigned_url"] = request.url
    return result


def main():
    cases = json.load(sys.stdin)
    json.dump([sign(case) for case in cases], sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
