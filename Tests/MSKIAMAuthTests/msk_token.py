#!/usr/bin/env python3
"""Reference MSK IAM tokens from AWS's aws-msk-iam-sasl-signer-python, for MSKIAMAuth's
differential test.

Reads a JSON list of cases on stdin and prints a JSON list of results, one per case, in order.
Case: {"access_key", "secret_key", "token" (or null), "region", "amz_date" ("YYYYMMDDTHHMMSSZ")}.
Result: {"token": <generate_auth_token_from_credentials_provider(...)[0]>, "expiry_ms": <[1]>,
"url": <the token base64url-decoded>, "user_agent": <the signer's User-Agent value>}.

The clock is fixed by patching botocore.auth's datetime (older botocore) and
get_current_datetime (newer botocore). Exit status 2 when the signer cannot be imported
('python3 -m pip install aws-msk-iam-sasl-signer-python').
"""
import base64
import datetime
import json
import sys
import types

try:
    import botocore.auth
    from botocore.credentials import CredentialProvider, Credentials
    from aws_msk_iam_sasl_signer import MSKAuthTokenProvider
except ImportError as error:  # pragma: no cover - reported by the Swift test
    sys.stderr.write(
        "msk_token.py: cannot import aws_msk_iam_sasl_signer (%s); install it with "
        "'python3 -m pip install aws-msk-iam-sasl-signer-python'\n" % error
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
    datetime=_FixedDateTime, timezone=datetime.timezone, timedelta=datetime.timedelta
)
if hasattr(botocore.auth, "get_current_datetime"):
    botocore.auth.get_current_datetime = lambda *args, **kwargs: _FIXED[0]


class _FixedProvider(CredentialProvider):
    def __init__(self, credentials):
        super().__init__()
        self._credentials = credentials

    def load(self):
        return self._credentials


def main():
    results = []
    for case in json.load(sys.stdin):
        _FIXED[0] = datetime.datetime.strptime(case["amz_date"], "%Y%m%dT%H%M%SZ")
        credentials = Credentials(case["access_key"], case["secret_key"], case.get("token"))
        token, expiry_ms = MSKAuthTokenProvider.generate_auth_token_from_credentials_provider(
            case["region"], _FixedProvider(credentials)
        )
        padded = token + "=" * (-len(token) % 4)
        results.append({
            "token": token,
            "expiry_ms": expiry_ms,
            "url": base64.urlsafe_b64decode(padded).decode("utf-8"),
            "user_agent": MSKAuthTokenProvider.__get_user_agent__(),
        })
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
