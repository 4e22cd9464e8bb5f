"""Schemathesis hooks for Veza: the rules the OpenAPI document cannot express.

A schema-valid sign-up may be refused only for the password policy (too common, built on the
username, the email or the service's name) or an email local part over 64 characters. Any other 4xx answer to a
schema-valid registration is a failure. Operations that take a secret the fuzzer cannot know may
be refused only in the ways listed below.
"""

import schemathesis

PASSWORD_RULES = {"too_common", "same_as_identity", "context_word"}
# The email rule the pattern leaves out (a fuzzer could not generate from a pattern stating it).
EMAIL_RULES = {"local_part_too_long"}


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
        (e.get("field") == "password" and e.get("code") in PASSWORD_RULES)
        or (e.get("field") == "email" and e.get("code") in EMAIL_RULES)
        for e in errors
    )
    if not allowed:
        raise AssertionError(f"schema-valid registration refused with {status}: {body}")


SECRET_PATHS = {
    "/api/v1/auth/email/verify",
    "/api/v1/auth/password/reset",
    "/api/v1/auth/login/mfa",
    "/api/v1/auth/magic-link/verify",
    "/api/v1/auth/magic-link",
    "/api/v1/auth/password/forgot",
    "/api/v1/me/password",
    "/api/v1/me/email",
    "/api/v1/me/2fa/totp/setup",
    "/api/v1/me/2fa/totp/enable",
    "/api/v1/me/2fa/totp/disable",
    "/api/v1/me/2fa/recovery-codes",
    "/api/v1/auth/oauth/{provider}/callback",
    "/api/v1/me/identities/{provider}/callback",
    "/api/v1/me/passkeys",
    "/api/v1/me/passkeys/options",
    "/api/v1/me/identities/{provider}/start",
    "/api/v1/auth/passkeys/login",
    "/api/v1/auth/login/mfa/passkey/options",
    "/api/v1/auth/login/mfa/passkey",
}
# A secret the fuzzer cannot know: a token it made up, the wrong current password, a wrong code.
TOKEN_REFUSALS = {"token_invalid", "token_expired", "token_used", "token_foreign"}
FIELD_REFUSALS = {
    ("current_password", "incorrect"),
    ("current_password", "required"),
    ("new_password", "too_common"),
    ("new_password", "same_as_identity"),
    ("new_password", "context_word"),
    ("code", "required"),
    ("code", "incorrect"),
    ("email", "unchanged"),
    ("email", "local_part_too_long"),
    ("credential", "rejected"),
}


@schemathesis.check
def secret_operations_refuse_only_for_secrets(ctx, response, case):
    if case.path not in SECRET_PATHS or case.method.upper() != "POST":
        return
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    status = response.status_code
    if status < 400 or status in (401, 403, 409, 429) or status >= 500:
        return  # wrong code or token (401), API key (403), state conflicts, limits; 5xx elsewhere
    body = response.json()
    if status == 400 and body.get("code") in TOKEN_REFUSALS:
        return
    errors = body.get("errors", [])
    if status == 422 and errors and all((e.get("field"), e.get("code")) in FIELD_REFUSALS for e in errors):
        return
    raise AssertionError(f"schema-valid {case.path} refused with {status}: {body}")


# A timeout ends within 28 days of now: a rule about the current time, which no schema states.
MEMBER_PATH = "/api/v1/communities/{id}/members/{user_id}"


@schemathesis.check
def member_changes_refuse_only_long_timeouts(ctx, response, case):
    if case.path != MEMBER_PATH or case.method.upper() != "PATCH":
        return
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if response.status_code != 422:
        return  # other statuses are the generic checks' business
    errors = response.json().get("errors", [])
    if not errors or any((e.get("field"), e.get("code")) != ("timed_out_until", "out_of_range") for e in errors):
        raise AssertionError(f"schema-valid member change refused with 422: {response.text}")


# A reaction is one Unicode emoji: a set of strings (with skin tones and other variants) no
# pattern states, so a schema-valid path may be refused with 422, naming only that rule.
REACTION_PATHS = {
    "/api/v1/channels/{channel_id}/messages/{message_id}/reactions/{emoji}",
    "/api/v1/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/me",
}


@schemathesis.check
def reactions_refuse_only_non_emoji(ctx, response, case):
    if case.path not in REACTION_PATHS:
        return
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if response.status_code != 422:
        return
    errors = response.json().get("errors", [])
    if not errors or any((e.get("field"), e.get("code")) != ("emoji", "not_an_emoji") for e in errors):
        raise AssertionError(f"schema-valid reaction refused with 422: {response.text}")


# An upload's file must be audio Veza accepts: the content decides, which no schema states.
FILE_REFUSALS = {("file", "empty"), ("file", "undecodable")}


@schemathesis.check
def uploads_refuse_only_what_is_not_audio(ctx, response, case):
    if case.path != "/api/v1/tracks" or case.method.upper() != "POST":
        return
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    status = response.status_code
    if status < 400 or status in (401, 403, 429) or status >= 500:
        return  # credentials and limits; 5xx is caught by not_a_server_error
    body = response.json()
    if status == 415 and body.get("code") == "unsupported_media_type":
        return
    errors = body.get("errors", [])
    if status == 422 and errors and all((e.get("field"), e.get("code")) in FILE_REFUSALS for e in errors):
        return
    raise AssertionError(f"schema-valid upload refused with {status}: {body}")
