"""Fixtures of the web tests: a migrated database (SQLite or PostgreSQL), the app, a client.

Every test gets its own database: a copy of a migrated SQLite file, or on
PostgreSQL its own schema (``search_path``), so tests running in parallel
never meet. To keep the suite fast, SQLite states that many tests start from
(the demo meeting, the lifecycle scenario at each step) are built once per
session and copied (:class:`Snapshots`); all SQLite tests share one log key
and secret so a copied database stays consistent with the keys that signed it.
"""

from __future__ import annotations

import atexit
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.databases import (
    DATABASES,
    FAST_ARGON2,
    Backend,
    copy_template,
    open_engine,
    postgres_schema,
    sqlite_template,
)
from votes.enums import StaffRole
from votes.service import accounts
from votes.service.context import ServiceContext, build_context
from votes.service.demo import seed_demo
from votes.service.schemas import CreateStaffRequest
from votes.settings import Settings
from web.app import create_app

PASSWORD = "correct horse battery staple"

# One log key and session secret for every SQLite test of the process (see module doc).
_SECRET: Final = "web-test-secret-" + secrets.token_urlsafe(32)
_SHARED_KEY: list[Path] = []


def _shared_log_key() -> Path:
    """The log key file shared by this process's tests (made on first use, removed at exit)."""
    if not _SHARED_KEY:
        folder = Path(tempfile.mkdtemp(prefix="votes-web-test-keys-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "log-key"
        path.write_text(secrets.token_bytes(32).hex() + "\n")
        path.chmod(0o600)
        _SHARED_KEY.append(path)
    return _SHARED_KEY[0]


class FakeClock:
    """An aware UTC clock that tests move forward."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "demo": False,
        "log_key_file": _shared_log_key(),
        "secret_key": _SECRET,
        **FAST_ARGON2,
    }
    values.update(overrides)
    return Settings(**values)


def make_app(ctx: ServiceContext, tmp_path: Path, **overrides: Any) -> Litestar:
    """The app on this test's context, with settings of its own (limits, a Redis URL)."""
    settings = make_settings(tmp_path, **overrides)
    return create_app(settings, context=ctx, scheduler=False, seed_demo=False)


class Snapshots:
    """Saved SQLite databases (with the state tests need to continue from them)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.saved: dict[str, Any] = {}

    def __contains__(self, name: str) -> bool:
        return name in self.saved

    async def save(self, name: str, engine: AsyncEngine, database: Path, state: Any) -> None:
        await engine.dispose()  # closing every connection checkpoints the WAL into the file
        shutil.copyfile(database, self.folder / f"{name}.db")
        self.saved[name] = state

    async def restore(self, name: str, engine: AsyncEngine, database: Path) -> Any:
        await engine.dispose()
        for suffix in ("-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(self.folder / f"{name}.db", database)
        return self.saved[name]


@pytest.fixture(scope="session")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> Snapshots:
    return Snapshots(tmp_path_factory.mktemp("snapshots"))


@pytest.fixture
def backend_name() -> str:
    """SQLite by default; contract tests run on both databases (:data:`ON_BOTH_DATABASES`)."""
    return "sqlite"


# A contract test's mark: the test runs on SQLite and on PostgreSQL.
ON_BOTH_DATABASES: Final = pytest.mark.parametrize("backend_name", DATABASES, indirect=True)


@pytest.fixture(scope="session", name="sqlite_template")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database, copied for each test (migrating each time is slower)."""
    return sqlite_template(make_settings(tmp_path_factory.mktemp("template")))


@pytest.fixture
async def backend(
    request: pytest.FixtureRequest, backend_name: str, tmp_path: Path
) -> AsyncIterator[Backend]:
    if backend_name == "sqlite":
        settings = make_settings(tmp_path)
        copy_template(request.getfixturevalue("sqlite_template"), settings)
        yield Backend("sqlite", settings)
        return
    url = request.getfixturevalue("postgres_url")
    settings = make_settings(
        tmp_path,
        database_url=url,
        secret_key="web-test-secret-" + "x" * 32,
        log_key_file=tmp_path / "log-key",
    )
    async with postgres_schema(settings, "votes_web") as made:
        yield made


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def engine(backend: Backend) -> AsyncIterator[AsyncEngine]:
    # The SQLite file is a copy of a migrated template.
    async with open_engine(backend, upgraded=backend.name == "sqlite") as made:
        yield made


@pytest.fixture
async def ctx(backend: Backend, engine: AsyncEngine, clock: FakeClock) -> ServiceContext:
    return await build_context(backend.settings, engine=engine, clock=clock)


@pytest.fixture
def app(ctx: ServiceContext) -> Litestar:
    return create_app(ctx.settings, context=ctx, scheduler=False, seed_demo=False)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


StaffFactory = Callable[..., Any]


@pytest.fixture
def make_staff(ctx: ServiceContext) -> StaffFactory:
    """Create a staff account directly in the service (the bootstrap path)."""

    async def make(
        username: str,
        role: StaffRole,
        *,
        estate_ids: list[int] | None = None,
        subdistrict_ids: list[int] | None = None,
    ) -> Any:
        return await accounts.create_staff(
            ctx,
            CreateStaffRequest(
                username=username,
                password=PASSWORD,
                role=role,
                display_name=username,
                estate_ids=estate_ids or [],
                subdistrict_ids=subdistrict_ids or [],
            ),
            actor=None,
        )

    return make


async def login(client: httpx.AsyncClient, username: str) -> str:
    """Log in; return the CSRF token to send in ``X-CSRFToken``."""
    response = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    token = response.headers["x-csrftoken"]
    client.headers["X-CSRFToken"] = token
    return token


@pytest.fixture
async def demo(
    ctx: ServiceContext, backend: Backend, engine: AsyncEngine, snapshots: Snapshots
) -> Any:
    """The demo estate with an OPEN meeting and a few credential letters (DemoInfo)."""
    database = backend.settings.data_dir / "votes.db"
    if backend.name == "sqlite" and "demo" in snapshots:
        return await snapshots.restore("demo", engine, database)
    info = await seed_demo(ctx)
    assert info is not None
    if backend.name == "sqlite":
        await snapshots.save("demo", engine, database, info)
    return info


@pytest.fixture
def s(  # noqa: PLR0917 - pytest passes fixtures positionally
    client: AsyncTestClient[Litestar],
    clock: FakeClock,
    make_staff: StaffFactory,
    snapshots: Snapshots,
    engine: AsyncEngine,
    backend: Backend,
) -> Any:
    """The lifecycle scenario (tests/web/scenario.py) on this test's database."""
    from tests.web.scenario import Scenario  # noqa: PLC0415 - scenario imports this module

    return Scenario(
        client,
        clock,
        make_staff,
        snapshots=snapshots if backend.name == "sqlite" else None,
        engine=engine,
        database=backend.settings.data_dir / "votes.db",
    )
