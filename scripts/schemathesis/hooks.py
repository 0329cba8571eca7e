"""Schemathesis auth hook: signs in as CONFER_ST_EMAIL and sends the access token as a bearer.

Credentials go through an auth hook rather than a fixed header, so the `ignored_auth` check can
strip or alter them (SECURITY.md §8, F5). The hook signs in as a client of its own behind the
trusted proxy run.sh configures: the fuzzer's many failed sign-ins throttle its own source
(127.0.0.1), as they should, not the hook's.
"""
import os

import requests
import schemathesis


@schemathesis.auth()
class ConferAuth:
    def get(self, case, ctx):
        base = os.environ["CONFER_ST_URL"]
        response = requests.post(
            f"{base}/api/v1/auth/login",
            json={"email": os.environ["CONFER_ST_EMAIL"], "password": os.environ["CONFER_ST_PASSWORD"]},
            headers={"X-Forwarded-For": "192.0.2.10"},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()["access_token"]

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
