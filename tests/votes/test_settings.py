"""Settings from environment variables: defaults, parsing, and refusals naming the variable."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from votes.settings import DEFAULT_LOG_NAME, RateLimit, Settings, SettingsError

PG = "postgresql://vote:pw@db.example:5432/votes"
PRODUCTION = {
    "VOTES_DATABASE_URL": PG,
    "VOTES_SECRET_KEY": "s" * 40,
    "VOTES_LOG_KEY_FILE": "/etc/owner-vote/log-key",
}


def test_no_variables_give_the_embedded_default(tmp_path: Path) -> None:
    settings = Settings.from_env({"VOTES_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'votes.db'}"
    assert settings.is_sqlite
    assert settings.redis_url is None
    assert settings.demo is True
    assert settings.base_url == "http://127.0.0.1:8000"
    assert (settings.notice_days, settings.voting_min_days, settings.voting_max_days) == (
        15,
        5,
        60,
    )
    assert settings.language == "zh-CN"
    assert settings.log_name == DEFAULT_LOG_NAME
    assert settings.rate_limit_ballots == RateLimit(count=60, period_seconds=60)
    assert settings.rate_limit_login == RateLimit(count=10, period_seconds=60)
    assert settings.max_body_bytes == 65536


def test_the_default_data_dir_is_dot_votes_data_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert Settings.from_env({}).data_dir == tmp_path / ".votes-data"


def test_reading_settings_creates_no_files(tmp_path: Path) -> None:
    Settings.from_env({"VOTES_DATA_DIR": str(tmp_path / "data")})
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    "url",
    [
        "postgres://vote:pw@db.example:5432/votes",
        "postgresql://vote:pw@db.example:5432/votes",
        "postgresql+asyncpg://vote:pw@db.example:5432/votes",
    ],
)
def test_postgresql_urls_are_rewritten_to_asyncpg(url: str) -> None:
    settings = Settings.from_env({**PRODUCTION, "VOTES_DATABASE_URL": url})
    assert settings.database_url == "postgresql+asyncpg://vote:pw@db.example:5432/votes"
    assert settings.is_postgresql


def test_postgresql_turns_the_demo_off_by_default() -> None:
    assert Settings.from_env(PRODUCTION).demo is False


def test_postgresql_without_a_secret_key_is_refused() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "VOTES_SECRET_KEY"}
    with pytest.raises(SettingsError, match="VOTES_SECRET_KEY") as caught:
        Settings.from_env(env)
    assert caught.value.variable == "VOTES_SECRET_KEY"
    assert "PostgreSQL" in str(caught.value)


def test_postgresql_without_a_log_key_file_is_refused() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "VOTES_LOG_KEY_FILE"}
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert caught.value.variable == "VOTES_LOG_KEY_FILE"


def test_a_short_secret_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"VOTES_SECRET_KEY": "short-secret"})
    assert caught.value.variable == "VOTES_SECRET_KEY"
    assert "short-secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("VOTES_DATABASE_URL", "mysql://db/votes"),
        ("VOTES_DATABASE_URL", "not a url"),
        ("VOTES_PORT", "eighty"),
        ("VOTES_PORT", "70000"),
        ("VOTES_NOTICE_DAYS", "0"),
        ("VOTES_NOTICE_DAYS", "15.5"),
        ("VOTES_OBJECTION_DAYS", "-1"),
        ("VOTES_SCHEDULER_INTERVAL_SECONDS", "0"),
        ("VOTES_DEMO", "maybe"),
        ("VOTES_RATE_LIMIT_BALLOTS", "60"),
        ("VOTES_RATE_LIMIT_BALLOTS", "60/fortnight"),
        ("VOTES_RATE_LIMIT_LOGIN", "0/minute"),
        ("VOTES_MAX_BODY_BYTES", "64k"),
        ("VOTES_LANGUAGE", "fr"),
        ("VOTES_LOG_LEVEL", "LOUD"),
        ("VOTES_BASE_URL", "ftp://example.org"),
        ("VOTES_BASE_URL", "example.org"),
        ("VOTES_REDIS_URL", "http://127.0.0.1:6379"),
        ("VOTES_LOG_NAME", "owner vote/log"),
        ("VOTES_LOG_NAME", "owner+vote/log"),
        ("VOTES_ARGON2_TIME_COST", "0"),
        ("VOTES_ARGON2_PARALLELISM", "0"),
        ("VOTES_DB_POOL_SIZE", "none"),
    ],
)
def test_invalid_values_are_refused_naming_variable_and_value(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({variable: value})
    assert caught.value.variable == variable
    assert variable in str(caught.value)
    assert value in str(caught.value)


def test_voting_minimum_above_maximum_is_refused() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"VOTES_VOTING_MIN_DAYS": "30", "VOTES_VOTING_MAX_DAYS": "20"})
    assert caught.value.variable == "VOTES_VOTING_MIN_DAYS"
    assert "20" in str(caught.value)


def test_argon2_memory_below_eight_kib_per_lane_is_refused() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"VOTES_ARGON2_MEMORY_KIB": "31", "VOTES_ARGON2_PARALLELISM": "4"})
    assert caught.value.variable == "VOTES_ARGON2_MEMORY_KIB"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("60/minute", RateLimit(60, 60)),
        ("5/second", RateLimit(5, 1)),
        ("1000 / hour", RateLimit(1000, 3600)),
        ("3/days", RateLimit(3, 86400)),
    ],
)
def test_rate_limits_parse_count_and_period(text: str, expected: RateLimit) -> None:
    assert Settings.from_env({"VOTES_RATE_LIMIT_BALLOTS": text}).rate_limit_ballots == expected


@pytest.mark.parametrize(("text", "expected"), [("1", True), ("off", False), ("YES", True)])
def test_demo_accepts_the_usual_boolean_spellings(text: str, expected: bool) -> None:
    assert Settings.from_env({"VOTES_DEMO": text}).demo is expected


def test_explicit_values_are_read(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "VOTES_DATA_DIR": str(tmp_path),
            "VOTES_REDIS_URL": "redis://127.0.0.1:6379/0",
            "VOTES_BASE_URL": "https://vote.example.org/",
            "VOTES_HOST": "0.0.0.0",
            "VOTES_PORT": "9000",
            "VOTES_NOTICE_DAYS": "7",
            "VOTES_OBJECTION_DAYS": "3",
            "VOTES_LANGUAGE": "en",
            "VOTES_LOG_LEVEL": "debug",
            "VOTES_ARGON2_MEMORY_KIB": "19456",
            "VOTES_LOG_NAME": "vote.example.org/log",
        }
    )
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.base_url == "https://vote.example.org"  # trailing slash dropped
    assert (settings.host, settings.port) == ("0.0.0.0", 9000)
    assert (settings.notice_days, settings.objection_days) == (7, 3)
    assert (settings.language, settings.log_level) == ("en", "DEBUG")
    assert settings.argon2_memory_kib == 19456
    assert settings.log_name == "vote.example.org/log"


def test_base_url_defaults_to_host_and_port() -> None:
    settings = Settings.from_env({"VOTES_HOST": "192.168.1.5", "VOTES_PORT": "8080"})
    assert settings.base_url == "http://192.168.1.5:8080"


def test_empty_variables_count_as_unset() -> None:
    assert Settings.from_env({"VOTES_PORT": "", "VOTES_REDIS_URL": "  "}).port == 8000


def test_keyword_construction_is_validated_too() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings(notice_days=0)
    assert caught.value.variable == "VOTES_NOTICE_DAYS"


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


def test_the_generated_secret_is_kept_private_and_reused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = settings.session_secret()
    path = tmp_path / "data" / "secret-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert Settings(data_dir=tmp_path / "data").session_secret() == first


def test_an_explicit_secret_key_is_used_as_given(tmp_path: Path) -> None:
    key = "k" * 48
    settings = Settings(data_dir=tmp_path, secret_key=key)
    assert settings.session_secret() == key.encode()
    assert not (tmp_path / "secret-key").exists()


def test_the_log_key_seed_is_generated_once_with_private_permissions(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    seed = settings.log_key_seed()
    assert len(seed) == 32
    path = tmp_path / "log-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == seed.hex()
    assert Settings(data_dir=tmp_path).log_key_seed() == seed


def test_a_configured_log_key_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "log.seed"
    path.write_text(("ab" * 32) + "\n")
    settings = Settings(data_dir=tmp_path, log_key_file=path)
    assert settings.log_key_seed() == bytes.fromhex("ab" * 32)


def test_a_damaged_log_key_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "log.seed"
    path.write_text("not hex")
    with pytest.raises(SettingsError) as caught:
        Settings(data_dir=tmp_path, log_key_file=path).log_key_seed()
    assert caught.value.variable == "VOTES_LOG_KEY_FILE"
    assert str(path) in str(caught.value)


def test_ensure_data_dir_creates_an_owner_only_folder(tmp_path: Path) -> None:
    data_dir = Settings(data_dir=tmp_path / "d").ensure_data_dir()
    assert data_dir.is_dir()
    assert stat.S_IMODE(os.stat(data_dir).st_mode) == 0o700
