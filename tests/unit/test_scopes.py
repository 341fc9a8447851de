"""Scope rules: Score compares ignoring case, Song exactly; JWT scopes from Ego or `scope`."""

from __future__ import annotations

from score_broker.auth.identity import Identity, ScopeRule, looks_like_api_key
from score_broker.auth.jwt_tokens import scopes_of


def who(*scopes: str) -> Identity:
    return Identity("test", frozenset(scopes))


def test_score_rule_ignores_case() -> None:
    rule = ScopeRule("score.WRITE", "PROGRAMDATA-", ".WRITE")
    assert rule.allows(who("SCORE.write"), "X")
    assert rule.allows(who("programdata-abc.write"), "ABC")
    assert not rule.allows(who("PROGRAMDATA-ABC.READ"), "ABC")
    assert not rule.allows(None, "ABC")


def test_song_rule_is_exact() -> None:
    rule = ScopeRule("song.WRITE", "PROGRAMDATA-", ".WRITE", case_sensitive=True)
    assert rule.allows(who("song.WRITE"), "X")
    assert not rule.allows(who("SONG.write"), "X")
    assert rule.allows(who("PROGRAMDATA-ABC.WRITE"), "ABC")
    assert not rule.allows(who("PROGRAMDATA-abc.WRITE"), "ABC")


def test_jwt_scopes() -> None:
    assert scopes_of({"context": {"scope": ["score.READ"]}}) == {"score.READ"}
    assert scopes_of({"scope": "a b"}) == {"a", "b"}
    assert scopes_of({"scope": ["c"], "context": {"scope": ["d"]}}) == {"c", "d"}
    assert scopes_of({}) == frozenset()


def test_token_routing() -> None:
    assert looks_like_api_key("ad83ebde-a55c-11e7-abc4-cec278b6b50a")
    assert not looks_like_api_key("eyJhbGciOiJSUzI1NiJ9.e30.sig")


def test_exact_study_scope() -> None:
    rule = ScopeRule("score.READ", "PROGRAMDATA-", ".READ")
    assert rule.has_study_exactly(who("PROGRAMDATA-ABC.READ"), "ABC")
    assert not rule.has_study_exactly(who("PROGRAMDATA-ABC.READ"), "abc")
    assert rule.has_study(who("PROGRAMDATA-ABC.READ"), "abc")
    assert not rule.has_study_exactly(None, "ABC")
