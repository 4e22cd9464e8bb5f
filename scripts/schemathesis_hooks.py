"""Schemathesis hooks for Veza: the one rule the OpenAPI document cannot express.

A schema-valid sign-up may be refused only for the password policy (too common, or the same as
the username or email). Any other 4xx answer to a schema-valid registration is a failure.
"""

import schemathesis

PASSWORD_RULES = {"too_common", "same_as_identity"}


@schemathesis.check
def register_refuses_only_password_policy(ctx, response, case):
    if case.path != "/api/v1/auth/register" or case.method.upper() != "POST":
        return
    # Like schemathesis's own positive_data_acceptance: only cases generated to fit the schema
    # (stateful steps reuse earlier responses' values and carry no such promise).
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    status = response.status_code
    if status < 400 or status in (409, 429) or status >= 500:
        return  # success, conflict and rate limits are fine; 5xx is caught by not_a_server_error
    body = response.json()
    errors = body.get("errors", [])
    allowed = status == 422 and errors and all(
        e.get("field") == "password" and e.get("code") in PASSWORD_RULES for e in errors
    )
    if not allowed:
        raise AssertionError(f"schema-valid registration refused with {status}: {body}")
