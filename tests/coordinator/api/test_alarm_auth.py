"""Bearer-token auth: token parsing, roles, closed-by-default, dev mode."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from pydantic import SecretStr

from coordinator.api.auth import Principal, authenticate, parse_tokens, require_operator
from coordinator.api.errors import Forbidden, Unauthorized, status_for
from coordinator.settings import CoordinatorSettings

VIEWER = "viewer-token-0123456789"
OPERATOR = "operator-token-0123456789"


def settings(**kw: object) -> SimpleNamespace:
    base: dict[str, object] = {"viewer_tokens": (), "operator_tokens": (), "dev_mode": False}
    base.update(kw)
    return SimpleNamespace(**base)


def test_coordinator_settings_tokens_authenticate() -> None:
    """The real settings class's token tuples are understood, operator outranking viewer."""
    s = CoordinatorSettings(viewer_tokens=VIEWER, operator_tokens=OPERATOR)
    assert authenticate(s, VIEWER) == Principal("viewer-1", "viewer")
    assert authenticate(s, OPERATOR) == Principal("operator-1", "operator")


def test_named_tokens_give_principal_names() -> None:
    """Mappings and `name:token` entries name the principal recorded in alarm history."""
    s = settings(
        viewer_tokens=["wall-screen:" + VIEWER], operator_tokens={"ana": SecretStr(OPERATOR)}
    )
    assert authenticate(s, VIEWER) == Principal("wall-screen", "viewer")
    assert authenticate(s, OPERATOR) == Principal("ana", "operator")


@pytest.mark.parametrize(
    "token", [None, "", "wrong", VIEWER + "x", VIEWER[:-1], "\x00" * 30, "é" * 40]
)
def test_missing_or_wrong_token_is_401(token: str | None) -> None:
    """No token, or any token that is not configured, is refused as Unauthorized (401)."""
    with pytest.raises(Unauthorized) as info:
        authenticate(settings(viewer_tokens=[VIEWER]), token)
    assert status_for(info.value) == 401


def test_no_tokens_configured_closes_the_api() -> None:
    """Without tokens, even a well-formed token is refused outside dev mode."""
    for s in (settings(), None, SimpleNamespace()):
        with pytest.raises(Unauthorized) as info:
            authenticate(s, OPERATOR)
        assert "no API tokens" in info.value.reason


def test_dev_mode_without_tokens_acts_as_dev_admin() -> None:
    """In dev mode with no tokens at all, callers are the admin `dev`."""
    assert authenticate(settings(dev_mode=True), None) == Principal("dev", "admin")


def test_dev_mode_still_enforces_configured_tokens() -> None:
    """A configured token is required even in dev mode."""
    with pytest.raises(Unauthorized):
        authenticate(settings(dev_mode=True, operator_tokens=[OPERATOR]), None)


def test_viewer_cannot_pass_operator_check() -> None:
    """A viewer asking for an operator action gets 403."""
    with pytest.raises(Forbidden) as info:
        asyncio.run(require_operator(Principal("wall", "viewer")))
    assert status_for(info.value) == 403
    assert asyncio.run(require_operator(Principal("ana", "operator"))) == "ana"


def test_parse_tokens_ignores_empty_and_refuses_a_bare_string() -> None:
    """Empty tokens never match; a single string (not a list) is a configuration error."""
    assert parse_tokens(["", "ana:", "bo:tok"], role="operator") == [("bo", "tok")]
    assert parse_tokens(None, role="viewer") == []
    with pytest.raises(TypeError):
        parse_tokens("tok", role="viewer")
    with pytest.raises(TypeError):
        parse_tokens(42, role="viewer")
