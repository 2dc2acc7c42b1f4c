"""The meeting record: log entry types, their builders, canonical bytes and parsing.

Every entry is a JSON object with at least ``v`` (1), ``type``, ``meeting``,
``index`` (its 0-based position in the log) and ``time`` (UTC
``YYYY-MM-DDTHH:MM:SSZ``).  Its canonical JSON bytes are the Merkle leaf.
docs/verification.md §Entries lists every type and field; the Structs of
:mod:`.schema` are the single source of those shapes (``forbid_unknown_fields``: an entry with a
field the format does not define is refused). :class:`MeetingSettings` has
defaults because service requests share it; in an entry's text every field
must still be present, which the verifier checks against the text itself.

Builders are keyword-only functions that convert domain values (datetimes,
keys, :mod:`votes.model` objects) into entries and make the service's
signatures; entries that carry an officer's signature take it ready-made,
because the officer signs on their own device.

The parts: the entry types and their bytes (:mod:`.schema`), the roster and
motions in wire form (:mod:`.conversions`), reading a log (:mod:`.keys`: the
key book, the ballot context, tally rows) and the builders (:mod:`.builders`).
"""

from votes.record.entries import builders, conversions, keys, schema
from votes.record.entries.builders import *  # noqa: F403
from votes.record.entries.conversions import *  # noqa: F403
from votes.record.entries.keys import *  # noqa: F403
from votes.record.entries.schema import *  # noqa: F403

__all__ = schema.__all__ + conversions.__all__ + keys.__all__ + builders.__all__
