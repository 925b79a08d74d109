"""The HTTP API over a real uvicorn server and a real store, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from lethe.ops.access.roles import Role
from lethe.ops.access.settings import AccessSettings
from lethe.ops.access.tokens import TokenStore
from lethe.ops.http.app import build_app
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.settings import Settings
from tests.support.http import (
    Issuer,
    call,
    ingest_one,
    live_server,
    token_per_role,
)
from tests.support.ingest import lethe_env

pytestmark = pytest.mark.integration

ITEM = "evt-http-1"
SUBJECT = "cust-http-1"


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    running = Issuer()
    yield running
    running.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store_env(request: pytest.FixtureRequest) -> dict[str, str]:
    name = "sqlite_env" if request.param == "sqlite" else "pg_schema_env"
    env: dict[str, str] = request.getfixturevalue(name)
    return env


@pytest.fixture
def four_eyes() -> str:
    return ""


@pytest.fixture
def server(
    store_env: dict[str, str], issuer: Issuer, four_eyes: str
) -> Iterator[tuple[str, dict[Role, str], Any]]:
    env = {
        "LETHE_FOUR_EYES": four_eyes,
        **lethe_env(store_env, "127.0.0.1:1", "t", "g"),
        **issuer.env("arc-legal=legal,arc-dpo=auditor+legal"),
    }
    runtime = build_runtime(Settings.from_env(env))
    ingest_one(runtime.app, ITEM, SUBJECT, "alarm-event")
    ingest_one(runtime.app, ITEM + "-held", SUBJECT, "alarm-event")
    ingest_one(runtime.app, ITEM + "-invoice", SUBJECT, "invoice")
    runtime.catch_up()
    by_role = token_per_role(runtime.views)
    with live_server(build_app(runtime, AccessSettings.from_env(env))) as base:
        yield base, by_role, runtime
    runtime.app.close()  # its connections back: PostgreSQL is shared by many tests


# Every endpoint, and the one role that may call it (the table of the issue).
HOLD = {"item_id": ITEM, "case_ref": "POL-1", "reason": "police case"}
WHO = {"subject_id": SUBJECT}
RESTRICTION = {"item_id": ITEM, "ticket": "T-1", "reason": "accuracy contested"}
ENDPOINTS: list[tuple[str, str, Any, set[Role]]] = [
    ("GET", f"/api/items/{ITEM}", None, {Role.SUPPORT, Role.LEGAL, Role.AUDITOR}),
    ("GET", "/api/status", None, {Role.OPERATOR, Role.AUDITOR}),
    ("GET", "/api/tokens", None, {Role.ADMIN}),
    ("POST", "/api/holds", HOLD, {Role.LEGAL}),
    ("POST", "/api/restrictions", RESTRICTION, {Role.SUPPORT}),
    (
        "POST",
        f"/api/items/{ITEM}/police-extension",
        {"case_ref": "POL-2"},
        {Role.LEGAL},
    ),
    ("GET", f"/api/audit/items/{ITEM}", None, {Role.AUDITOR}),
    ("GET", "/api/audit/verify", None, {Role.AUDITOR}),
    ("POST", "/api/subjects/lookup", WHO, {Role.SUPPORT, Role.LEGAL}),
    ("POST", "/api/subjects/erasure-preview", WHO, {Role.SUPPORT}),
    ("POST", "/api/subjects/erasure", {**WHO, "reason": "asked"}, {Role.SUPPORT}),
    ("POST", "/api/audit/subjects", WHO, {Role.AUDITOR}),
    ("GET", "/api/audit/report?month=2026-01", None, {Role.AUDITOR}),
    ("POST", "/api/sweep", None, {Role.OPERATOR}),
]


def test_each_role_may_call_what_it_needs_and_is_refused_the_rest(
    server: tuple[str, dict[Role, str], Any],
) -> None:
    base, by_role, _ = server
    seen = []
    for method, path, body, allowed in ENDPOINTS:
        for role, token in by_role.items():
            answer = call(base, method, path, token, body)
            if role in allowed:
                assert answer.status in (200, 201, 409), (role, path, answer.json)
            else:
                assert answer.status == 403, (role, path, answer.json)
                needed = " or ".join(sorted(allowed))
                assert answer.json["detail"].endswith(f"needs the role {needed}")
                assert answer.content_type == "application/problem+json"
            seen.append((role, path, answer.status))
    assert len(seen) == len(ENDPOINTS) * len(Role)


def test_the_events_record_the_authenticated_principal(
    server: tuple[str, dict[Role, str], Any],
) -> None:
    base, by_role, runtime = server
    answer = call(base, "POST", "/api/holds", by_role[Role.LEGAL], HOLD)
    assert answer.status == 200, answer.json
    item = call(base, "GET", f"/api/items/{ITEM}", by_role[Role.LEGAL]).json
    assert item["holds"]["POL-1"]["by"] == "token:legal"
    assert runtime.app.get_item(ITEM).holds["POL-1"]["by"] == "token:legal"


def test_a_domain_refusal_is_a_problem_with_the_clis_message(
    server: tuple[str, dict[Role, str], Any],
) -> None:
    base, by_role, _ = server
    body = {"item_id": ITEM, "case_ref": "NOPE"}
    answer = call(base, "POST", "/api/holds/release", by_role[Role.LEGAL], body)
    assert answer.status == 404
    assert answer.content_type == "application/problem+json"
    assert (
        answer.json["detail"] == f"item {ITEM} has no hold with case reference 'NOPE'"
    )
    assert answer.json["type"] == "urn:lethe:problem:no-such-hold"
    nowhere = call(base, "GET", "/api/no-such-endpoint", by_role[Role.SUPPORT])
    assert (nowhere.status, nowhere.content_type) == (404, "application/problem+json")
    unknown = call(base, "GET", "/api/items/nothing-such", by_role[Role.SUPPORT])
    assert unknown.status == 404
    assert unknown.json["detail"] == "no item 'nothing-such' is known to Lethe"


def test_a_bad_body_is_a_one_line_problem_naming_the_field(
    server: tuple[str, dict[Role, str], Any],
) -> None:
    base, by_role, _ = server
    answer = call(base, "POST", "/api/holds", by_role[Role.LEGAL], {"item_id": ITEM})
    assert answer.status == 400
    assert "body.case_ref: Field required" in answer.json["detail"]
    assert "\n" not in answer.json["detail"]


def test_no_token_a_forged_one_a_revoked_one_and_an_expired_one_are_refused(
    server: tuple[str, dict[Role, str], Any],
) -> None:
    base, by_role, runtime = server
    path = f"/api/items/{ITEM}"
    assert call(base, "GET", path).status == 401
    forged = by_role[Role.SUPPORT][:-4] + "AAAA"
    assert call(base, "GET", path, forged).json["detail"] == (
        "the API token is not valid"
    )
    tokens = TokenStore(runtime.views)
    past = datetime.now(UTC) - timedelta(days=2)
    expired = tokens.create("old", frozenset({Role.SUPPORT}), "t", past, timedelta(1))
    assert call(base, "GET", path, expired).json["detail"] == "the API token is expired"
    token_id = by_role[Role.SUPPORT].removeprefix("lethe_").split(".")[0]
    assert call(base, "GET", path, by_role[Role.SUPPORT]).status == 200
    revoked = call(base, "DELETE", f"/api/tokens/{token_id}", by_role[Role.ADMIN])
    assert revoked.json["state"] == "revoked"
    answer = call(base, "GET", path, by_role[Role.SUPPORT])
    assert (answer.status, answer.json["detail"]) == (401, "the API token is revoked")


def test_the_database_holds_only_a_digest_of_each_token(
    server: tuple[str, dict[Role, str], Any],
) -> None:
    base, by_role, runtime = server
    created = call(
        base, "POST", "/api/tokens", by_role[Role.ADMIN],
        {"name": "kari", "roles": ["support"], "expires_in": "30d"},
    ).json["token"]  # fmt: skip
    assert call(base, "GET", "/api/whoami", created).json == {
        "principal": "token:kari",
        "roles": ["support"],
    }
    rows = runtime.views.query("SELECT * FROM lethe_api_tokens")
    stored = " ".join(str(value) for row in rows for value in row)
    for token in [created, *by_role.values()]:
        assert token.split(".")[1] not in stored


def test_an_oidc_token_signed_by_the_issuer_maps_its_groups_to_roles(
    server: tuple[str, dict[Role, str], Any], issuer: Issuer
) -> None:
    base, _, runtime = server
    token = issuer.token(preferred_username="lise", groups=["arc-legal"])
    assert call(base, "GET", "/api/whoami", token).json == {
        "principal": "oidc:lise",
        "roles": ["legal"],
    }
    hold = {"item_id": ITEM, "case_ref": "POL-9", "reason": "police"}
    assert call(base, "POST", "/api/holds", token, hold).status == 200
    assert runtime.app.get_item(ITEM).holds["POL-9"]["by"] == "oidc:lise"
    dpo = issuer.token(preferred_username="dag", groups=["arc-dpo", "unmapped"])
    assert call(base, "GET", "/api/whoami", dpo).json["roles"] == ["auditor", "legal"]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"audience": "another-app"}, "Audience doesn't match"),
        ({"iss": "http://evil.example/realms/arc"}, "Invalid issuer"),
        ({"exp": datetime.now(UTC) - timedelta(minutes=1)}, "expired"),
        (
            {"key": rsa.generate_private_key(public_exponent=65537, key_size=2048)},
            "Signature verification failed",
        ),
    ],
)
def test_an_oidc_token_with_the_wrong_audience_issuer_expiry_or_key_is_refused(
    server: tuple[str, dict[Role, str], Any],
    issuer: Issuer,
    change: dict[str, Any],
    why: str,
) -> None:
    base, _, _ = server
    token = issuer.token(groups=["arc-legal"], **change)
    answer = call(base, "GET", "/api/whoami", token)
    assert answer.status == 401
    assert why in answer.json["detail"]


def test_the_openapi_document_lists_the_endpoints(
    server: tuple[str, dict[Role, str], Any],
) -> None:
    base, _, _ = server
    document = call(base, "GET", "/openapi.json").json
    assert {"/api/items/{item_id}", "/api/holds", "/api/status"} <= set(
        document["paths"]
    )


def test_the_preview_says_what_the_erasure_then_does(
    server: tuple[str, dict[Role, str], Any],
) -> None:
    base, by_role, runtime = server
    legal, support = by_role[Role.LEGAL], by_role[Role.SUPPORT]
    held = {"item_id": ITEM + "-held", "case_ref": "POL-7", "reason": "police"}
    assert call(base, "POST", "/api/holds", legal, held).status == 200
    preview = call(base, "POST", "/api/subjects/erasure-preview", support, WHO).json
    fates = {i["item_ref"]: i for i in preview["items"]}
    assert fates[ITEM]["fate"] == "erased now"
    assert fates[ITEM + "-held"]["fate"] == "kept while on legal hold"
    assert fates[ITEM + "-held"]["because"] == ["POL-7"]
    assert fates[ITEM + "-invoice"]["fate"] == "kept by law until due"
    due = runtime.app.get_item(ITEM + "-invoice").due_at  # None: clock not started
    assert fates[ITEM + "-invoice"]["until"] == (due.isoformat() if due else None)
    asked = {**WHO, "reason": "customer asked", "ticket": "T-42"}
    answer = call(base, "POST", "/api/subjects/erasure", support, asked)
    assert answer.status == 200, answer.json
    assert answer.json["requested_by"] == "token:support"
    app = runtime.app
    assert app.get_item(ITEM).order is not None
    assert app.get_item(ITEM + "-held").order is None
    assert app.get_item(ITEM + "-invoice").kept_for_legal_obligation


@pytest.mark.parametrize("four_eyes", ["all"])
def test_four_eyes_a_second_person_must_approve_an_erasure(
    server: tuple[str, dict[Role, str], Any], four_eyes: str
) -> None:
    base, by_role, runtime = server
    admin = by_role[Role.ADMIN]
    ola = call(base, "POST", "/api/tokens", admin,
               {"name": "ola", "roles": ["support"]}).json["token"]  # fmt: skip
    asked = {**WHO, "reason": "customer asked"}
    answer = call(base, "POST", "/api/subjects/erasure", by_role[Role.SUPPORT], asked)
    assert answer.status == 202
    approval = f"/api/approvals/{answer.json['approval_id']}"
    assert runtime.app.get_item(ITEM).order is None  # nothing happened yet
    (params,) = runtime.views.query("SELECT params FROM lethe_approvals")
    assert "customer asked" not in params[0] and "sealed:v1:" in params[0]
    same = call(base, "POST", approval, by_role[Role.SUPPORT], WHO)
    assert (same.status, same.json["detail"]) == (
        403,
        "token:support asked for this change: four-eyes needs a different person"
        " to approve it",
    )
    legal = call(base, "POST", approval, by_role[Role.LEGAL], WHO)
    assert legal.status == 403
    wrong = call(base, "POST", approval, ola, {"subject_id": "someone-else"})
    assert wrong.status == 400
    done = call(base, "POST", approval, ola, WHO)
    assert done.status == 200, done.json
    assert done.json["requested_by"] == "token:support, approved by token:ola"
    subject = runtime.app.get_subject("sector-alarm", SUBJECT)
    (asked_event,) = [
        e for e in runtime.app.events.get(subject.id) if hasattr(e, "requested_by")
    ]
    assert asked_event.requested_by == "token:support, approved by token:ola"
    # Sealed in the event too; the erasure was carried out, so it reads shredded.
    assert asked_event.reason.startswith("sealed:v1:")
    assert runtime.app.open_text(subject.subject_ref, asked_event.reason) == (
        "(shredded)"
    )
    assert runtime.app.get_item(ITEM).order is not None
    again = call(base, "POST", approval, ola, WHO)
    assert again.json["detail"].endswith("was already given")


@pytest.mark.parametrize("four_eyes", ["release-hold"])
def test_four_eyes_a_second_person_must_approve_a_hold_release(
    server: tuple[str, dict[Role, str], Any], four_eyes: str
) -> None:
    base, by_role, runtime = server
    legal = by_role[Role.LEGAL]
    assert call(base, "POST", "/api/holds", legal, HOLD).status == 200
    release = {"item_id": ITEM, "case_ref": "POL-1"}
    answer = call(base, "POST", "/api/holds/release", legal, release)
    assert answer.status == 202
    assert "POL-1" in runtime.app.get_item(ITEM).holds
    approval = f"/api/approvals/{answer.json['approval_id']}"
    assert call(base, "POST", approval, legal, {}).status == 403
    tokens = TokenStore(runtime.views)
    lise = tokens.create("lise", frozenset({Role.LEGAL}), "t", datetime.now(UTC), None)
    done = call(base, "POST", approval, lise, {})
    assert done.json["by"] == "token:legal, approved by token:lise"
    assert "POL-1" not in runtime.app.get_item(ITEM).holds


def test_the_auditor_reads_an_items_history_and_verifies_the_store(
    server: tuple[str, dict[Role, str], Any],
) -> None:
    base, by_role, _ = server
    auditor = by_role[Role.AUDITOR]
    assert call(base, "POST", "/api/holds", by_role[Role.LEGAL], HOLD).status == 200
    history = call(base, "GET", f"/api/audit/items/{ITEM}", auditor)
    assert history.status == 200, history.json
    assert "token:legal" in str(history.json)
    verified = call(base, "GET", "/api/audit/verify", auditor).json
    assert verified["ok"] is True and verified["items"] == 3


def test_the_auditor_reads_a_subjects_history_and_the_monthly_report(
    server: tuple[str, dict[Role, str], Any],
) -> None:
    base, by_role, _ = server
    auditor = by_role[Role.AUDITOR]
    asked = {**WHO, "reason": "customer asked"}
    assert call(base, "POST", "/api/subjects/erasure", by_role[Role.SUPPORT],
                asked).status == 200  # fmt: skip
    history = call(base, "POST", "/api/audit/subjects", auditor, WHO)
    assert history.status == 200, history.json
    # Erased: the subject's key is shredded, so not even the auditor reads the id.
    assert history.json["subject"] == "erased (key destroyed)"
    assert SUBJECT not in str(history.json)
    assert {i["item"] for i in history.json["items"]} >= {ITEM, ITEM + "-invoice"}
    assert "token:support" in str(history.json["timeline"])
    nobody = call(base, "POST", "/api/audit/subjects", auditor, {"subject_id": "x"})
    assert nobody.status == 404
    month = datetime.now(UTC).strftime("%Y-%m")
    report = call(base, "GET", f"/api/audit/report?month={month}", auditor)
    assert report.status == 200 and report.json["month"] == month
    html = call(base, "GET", f"/api/audit/report?month={month}&format=html", auditor)
    assert html.status == 200 and html.content_type.startswith("text/html")
    assert f"<h1>Disposal report, {month}</h1>" in html.text
    bad = call(base, "GET", "/api/audit/report?month=2026-13", auditor)
    assert (bad.status, bad.json["detail"]) == (
        400, "'2026-13' is not a month; write e.g. 2026-03",
    )  # fmt: skip


def test_the_operator_sweeps_and_is_told_the_orders_await_the_relay(
    server: tuple[str, dict[Role, str], Any],
) -> None:
    base, by_role, runtime = server
    answer = call(base, "POST", "/api/sweep", by_role[Role.OPERATOR])
    assert answer.status == 200, answer.json
    assert answer.json["ordered"] == 0  # nothing is due yet: nothing was ordered
    assert answer.json["relayed_by"] == "lethe run"
    assert runtime.app.get_item(ITEM).order is None


def test_an_unreachable_jwks_is_a_503_problem_not_a_500(
    sqlite_env: dict[str, str],
) -> None:
    stopped = Issuer()
    token = stopped.token(preferred_username="lise", groups=["arc-legal"])
    stopped.close()  # the real local JWKS server, stopped
    env = {
        **lethe_env(sqlite_env, "127.0.0.1:1", "t", "g"),
        **stopped.env(""),
    }
    runtime = build_runtime(Settings.from_env(env))
    with live_server(build_app(runtime, AccessSettings.from_env(env))) as base:
        answer = call(base, "GET", "/api/whoami", token)
        page = call(base, "GET", "/", headers={"Cookie": f"lethe_session={token}"})
    assert page.status == 503 and "cannot be fetched" in page.text  # the console too
    assert answer.status == 503
    assert answer.content_type == "application/problem+json"
    assert answer.json["type"] == "urn:lethe:problem:issuer-unavailable"
    assert answer.json["detail"] == (
        "the OpenID Connect issuer's keys cannot be fetched from"
        f" {stopped.jwks_url}: sign-in with it is unavailable; try again later"
    )


@pytest.mark.parametrize("four_eyes", ["", "erase-subject"])
def test_a_reason_that_names_the_subject_is_refused_and_reasons_read_opened(
    server: tuple[str, dict[Role, str], Any], four_eyes: str
) -> None:
    base, by_role, runtime = server
    asked = {**WHO, "reason": f"asked by {SUBJECT}"}
    answer = call(base, "POST", "/api/subjects/erasure", by_role[Role.SUPPORT], asked)
    assert answer.status == 400, answer.json
    assert "the subject's own id" in answer.json["detail"]
    assert SUBJECT not in answer.json["detail"]
    phone = {**HOLD, "reason": "call him on +47 912 34 567"}
    answer = call(base, "POST", "/api/holds", by_role[Role.LEGAL], phone)
    assert (answer.status, "phone number" in answer.json["detail"]) == (400, True)
    assert call(base, "POST", "/api/holds", by_role[Role.LEGAL], HOLD).status == 200
    item = call(base, "GET", f"/api/items/{ITEM}", by_role[Role.SUPPORT]).json
    assert item["holds"]["POL-1"]["reason"] == "police case"  # opened, not sealed
    history = call(base, "GET", f"/api/audit/items/{ITEM}", by_role[Role.AUDITOR])
    assert [h["reason"] for h in history.json["holds"]] == ["police case"]
    subject = call(base, "POST", "/api/audit/subjects", by_role[Role.AUDITOR], WHO)
    assert "police case" in str(subject.json) and "sealed:v1:" not in str(subject.json)
