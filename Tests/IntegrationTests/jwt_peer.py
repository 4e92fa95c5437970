"""Independent JWT tokens and JWKS documents for the edge tests, made with joserfc (not jwt-kit).

Usage:
  jwt_peer.py keys DIR                 make an RSA, an EC P-256, an Ed25519 and an HMAC key; write DIR/private.json
                                       (all keys) and DIR/jwks.json (what the gateway reads: public keys + the HMAC key)
  jwt_peer.py tokens DIR ISS AUD       print a JSON object: case name -> token, for every case the tests check
  jwt_peer.py rotate DIR ISS AUD       replace the key set with a new RSA key 'rsa-2' and print a token signed by it
  jwt_peer.py serve DIR PORT           serve DIR over HTTP on 127.0.0.1:PORT until killed
"""
import base64
import functools
import http.server
import json
import os
import sys
import time
import warnings

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OctKey, OKPKey, RSAKey

ALGORITHMS = ["RS256", "ES256", "EdDSA", "HS256", "none"]
warnings.simplefilter("ignore")  # joserfc warns that EdDSA is deprecated (RFC 9864); it is what jwt-kit names it


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def write(directory, keys):
    with open(os.path.join(directory, "private.json"), "w") as f:
        json.dump({"keys": [k.as_dict(private=True) for k in keys]}, f)
    public = [k.as_dict(private=(k.key_type == "oct")) for k in keys]
    with open(os.path.join(directory, "jwks.json.tmp"), "w") as f:
        json.dump({"keys": public}, f)
    os.replace(os.path.join(directory, "jwks.json.tmp"), os.path.join(directory, "jwks.json"))


def load(directory):
    with open(os.path.join(directory, "private.json")) as f:
        return {k["kid"]: k for k in json.load(f)["keys"]}


def import_key(data):
    kty = data["kty"]
    cls = {"RSA": RSAKey, "EC": ECKey, "OKP": OKPKey, "oct": OctKey}[kty]
    return cls.import_key(data)


def sign(alg, kid, claims, key_data):
    return jwt.encode({"alg": alg, "kid": kid}, claims, import_key(key_data), algorithms=ALGORITHMS)


def main():
    command, directory = sys.argv[1], sys.argv[2]
    if command == "keys":
        keys = [
            RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "alg": "RS256"}),
            ECKey.generate_key("P-256", parameters={"kid": "ec-1", "alg": "ES256"}),
            OKPKey.generate_key("Ed25519", parameters={"kid": "ed-1", "alg": "EdDSA"}),
            OctKey.generate_key(256, parameters={"kid": "hs-1", "alg": "HS256"}),
        ]
        write(directory, keys)
    elif command in ("tokens", "rotate"):
        issuer, audience = sys.argv[3], sys.argv[4]
        now = int(time.time())
        base = {"iss": issuer, "aud": audience, "sub": "user-1", "iat": now, "exp": now + 600,
                "streams": ["shop/orders"], "scope": "ingest read"}
        if command == "rotate":
            key = RSAKey.generate_key(2048, parameters={"kid": "rsa-2", "alg": "RS256"})
            write(directory, [key])
            print(sign("RS256", "rsa-2", base, key.as_dict(private=True)))
            return
        keys = load(directory)
        tokens = {
            "rs256": sign("RS256", "rsa-1", base, keys["rsa-1"]),
            "es256": sign("ES256", "ec-1", base, keys["ec-1"]),
            "eddsa": sign("EdDSA", "ed-1", base, keys["ed-1"]),
            "hs256": sign("HS256", "hs-1", base, keys["hs-1"]),
            "audience-list": sign("RS256", "rsa-1", {**base, "aud": ["other", audience]}, keys["rsa-1"]),
            "within-leeway": sign("RS256", "rsa-1", {**base, "exp": now - 5}, keys["rsa-1"]),
            "expired": sign("RS256", "rsa-1", {**base, "exp": now - 3600}, keys["rsa-1"]),
            "not-yet-valid": sign("RS256", "rsa-1", {**base, "nbf": now + 3600}, keys["rsa-1"]),
            "no-expiry": sign("RS256", "rsa-1", {k: v for k, v in base.items() if k != "exp"}, keys["rsa-1"]),
            "wrong-audience": sign("RS256", "rsa-1", {**base, "aud": "someone-else"}, keys["rsa-1"]),
            "wrong-issuer": sign("RS256", "rsa-1", {**base, "iss": "https://evil.example"}, keys["rsa-1"]),
            "unknown-kid": sign("RS256", "nope", base, keys["rsa-1"]),
            # The EC key's kid on an RS256 token signed by the RSA key: the algorithm does not fit the key.
            "algorithm-mismatch": sign("RS256", "ec-1", base, keys["rsa-1"]),
            # Signed by a key the gateway does not have, under a kid it does.
            "wrong-signature": sign("RS256", "rsa-1", base, RSAKey.generate_key(2048).as_dict(private=True)),
            # alg none: no signature at all.
            "alg-none": b64url(json.dumps({"alg": "none", "kid": "rsa-1"}).encode()) + "."
            + b64url(json.dumps(base).encode()) + ".",
            # HS256 keyed with the RSA public key's bytes under the RSA kid (the classic confusion attack).
            "hmac-with-public-key": jwt.encode(
                {"alg": "HS256", "kid": "rsa-1"}, base,
                OctKey.import_key(json.dumps(import_key(keys["rsa-1"]).as_dict(private=False)).encode()),
                algorithms=ALGORITHMS),
            "other-stream": sign("RS256", "rsa-1", {**base, "streams": "web/clicks"}, keys["rsa-1"]),
            "no-scope": sign("RS256", "rsa-1", {**base, "scope": "read"}, keys["rsa-1"]),
        }
        print(json.dumps(tokens))
    elif command == "serve":
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
        handler.log_message = lambda *args: None
        server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[3])), handler)
        server.serve_forever()
    else:
        sys.exit("unknown command " + command)


if __name__ == "__main__":
    main()
