"""Checks Veza's access tokens with PyJWT, an implementation independent of Veza's own.

    jwt_check.py verify BASE_URL TOKEN ISSUER
        Verifies TOKEN against the JWKS at BASE_URL/.well-known/jwks.json (EdDSA only, audience
        "veza", the given issuer, all registered claims required) and prints header and claims.
    jwt_check.py forge KEY_FILE KID ISSUER SUB SID
        Signs tokens with Veza's own Ed25519 key (PKCS#8 DER in KEY_FILE): one valid, and others
        each wrong in exactly one way. Prints them as a JSON object.
"""

import base64
import json
import sys
import time

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def verify(base, token, issuer):
    client = jwt.PyJWKClient(base + "/.well-known/jwks.json")
    key = client.get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        key.key,
        algorithms=["EdDSA"],
        audience="veza",
        issuer=issuer,
        options={"require": ["exp", "iat", "sub", "aud", "iss", "jti"]},
    )
    return {"header": jwt.get_unverified_header(token), "claims": claims}


def b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def forge(key_file, kid, issuer, sub, sid):
    with open(key_file, "rb") as f:
        der = f.read()
    # Veza stores PKCS#8 v2 (RFC 5958, public key included), which `cryptography` does not
    # parse; the private key is the 32-byte seed in the OCTET STRING inside an OCTET STRING.
    marker = der.find(b"\x04\x22\x04\x20")
    if marker < 0:
        sys.exit(f"{key_file}: no Ed25519 seed found")
    key = Ed25519PrivateKey.from_private_bytes(der[marker + 4:marker + 36])
    now = int(time.time())
    claims = {"iss": issuer, "aud": "veza", "sub": sub, "sid": sid, "role": "user",
              "iat": now, "exp": now + 600, "jti": "forged"}
    header = {"typ": "at+jwt", "kid": kid}

    def sign(overrides=None, headers=None):
        return jwt.encode({**claims, **(overrides or {})}, key, algorithm="EdDSA",
                          headers={**header, **(headers or {})})

    return {
        "valid": sign(),
        "wrong_audience": sign({"aud": "someone-else"}),
        "wrong_issuer": sign({"iss": "https://evil.example"}),
        "expired": sign({"iat": now - 7200, "exp": now - 3600}),
        "wrong_typ": sign(headers={"typ": "JWT"}),
        "alg_none": b64({"alg": "none", "typ": "at+jwt", "kid": kid}) + "." + b64(claims) + ".",
        "unsigned_hs256": jwt.encode(claims, "guessable-secret-of-32-bytes-min!", algorithm="HS256", headers=header),
    }


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    result = verify(*args) if mode == "verify" else forge(*args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
