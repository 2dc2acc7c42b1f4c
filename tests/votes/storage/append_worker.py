"""A separate process that appends entries to one meeting's log (concurrency tests).

python -m tests.votes.storage.append_worker URL SEARCH_PATH ESTATE_ID MEETING_ID TAG COUNT
(SEARCH_PATH is "-" for SQLite.) Each entry is "<index>|<tag>|<seq>".
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

from votes.settings import Settings
from votes.storage import append_entry, create_engine, create_session_factory


def entry_builder(tag: str, seq: int) -> Callable[[int], bytes]:
    """Build "<index>|<tag>|<seq>": the entry records the index it was given."""
    return lambda index: f"{index}|{tag}|{seq}".encode()


async def run(
    url: str, *, search_path: str, estate_id: int, meeting_id: uuid.UUID, tag: str, count: int
) -> None:
    connect_args = {} if search_path == "-" else {"server_settings": {"search_path": search_path}}
    settings = Settings(
        database_url=url,
        data_dir=Path.cwd(),
        secret_key="worker-secret-key-" + "x" * 32,
        log_key_file=Path("unused-log-key"),
    )
    engine = create_engine(settings, connect_args=connect_args)
    sessions = create_session_factory(engine)
    try:
        for seq in range(count):
            async with sessions.begin() as session:
                await append_entry(
                    session,
                    estate_id=estate_id,
                    meeting_id=meeting_id,
                    build=entry_builder(tag, seq),
                )
    finally:
        await engine.dispose()


if __name__ == "__main__":
    url, search_path, estate, meeting, tag, count = sys.argv[1:7]
    asyncio.run(
        run(
            url,
            search_path=search_path,
            estate_id=int(estate),
            meeting_id=uuid.UUID(meeting),
            tag=tag,
            count=int(count),
        )
    )
