"""What every use case needs: settings, database sessions, the log key, a clock, events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from crypto.notes import NoteSigner, NoteVerifier
from crypto.signing import SigningKey
from votes.settings import Settings
from votes.storage import create_engine, create_session_factory, ensure_migrated

__all__ = [
    "EventPublisher",
    "NullPublisher",
    "ServiceContext",
    "build_context",
    "system_clock",
]


class EventPublisher(Protocol):
    """Where live events (turnout) go; the web layer plugs Litestar channels in."""

    async def publish(self, meeting_code: str, event: dict[str, Any]) -> None: ...


class NullPublisher:
    """Drops every event (no subscribers: CLI, tests that do not look)."""

    async def publish(self, meeting_code: str, event: dict[str, Any]) -> None:
        return None


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class ServiceContext:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    log_key: SigningKey
    clock: Callable[[], datetime] = system_clock
    events: EventPublisher = field(default_factory=NullPublisher)
    #: Sessions for reads only (SQLite: deferred transactions that never wait for
    #: writers); defaults to ``sessions``.
    read_sessions: async_sessionmaker[AsyncSession] | None = None
    #: The engine, when the context created it (``close`` disposes of it).
    engine: AsyncEngine | None = None

    def now(self) -> datetime:
        """The current UTC instant in whole seconds.

        The log's times are whole seconds (``YYYY-MM-DDTHH:MM:SSZ``). Every time the
        service stores, compares or shows (an objection's filing time, the
        objection deadline, a window's end) is computed from this clock, so
        truncating here keeps them equal to the times in the record: a deadline
        shown as ``…:00`` is the deadline the verifier sees, never ``…:00.48``.
        """
        moment = self.clock()
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"the clock returned a naive datetime {moment!r}")
        return moment.astimezone(UTC).replace(microsecond=0)

    @property
    def readers(self) -> async_sessionmaker[AsyncSession]:
        return self.read_sessions if self.read_sessions is not None else self.sessions

    @property
    def note_signer(self) -> NoteSigner:
        """The signed-note signer of checkpoints (key name = settings.log_name)."""
        return NoteSigner(self.settings.log_name, self.log_key)

    @property
    def note_verifier(self) -> NoteVerifier:
        return self.note_signer.verifier()

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()


async def build_context(
    settings: Settings,
    *,
    events: EventPublisher | None = None,
    clock: Callable[[], datetime] | None = None,
    engine: AsyncEngine | None = None,
) -> ServiceContext:
    """Connect, check the schema is migrated (else SchemaNotCurrentError), load the log key."""
    own = engine is None
    engine = create_engine(settings) if engine is None else engine
    try:
        await ensure_migrated(engine)
    except BaseException:
        if own:
            await engine.dispose()
        raise
    return ServiceContext(
        settings=settings,
        sessions=create_session_factory(engine),
        read_sessions=create_session_factory(engine, read_only=True),
        log_key=SigningKey.from_seed(settings.log_key_seed()),
        clock=clock or system_clock,
        events=events or NullPublisher(),
        engine=engine if own else None,
    )
