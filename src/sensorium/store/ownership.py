"""Who is acting: the owner stamped on new records and the filter applied when reading them.

The API's access middleware sets the actor for the duration of a request (a `ContextVar`: per request,
copied into the worker threads that serve it; never shared between requests). Code that runs with no
actor (the CLI, job workers, `AUTH_MODE=off`) sees everything and creates records owned by nobody
(`None`, the local user). A restricted actor (a signed-in user who is not an admin) sees only its own
records: everything else reads as NOT_FOUND, so nothing leaks that it exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The user a request acts for. `user_id` None: the local user or an operator key (`API_KEYS`)."""

    user_id: str | None
    admin: bool = False

    @property
    def sees_all(self) -> bool:
        return self.admin or self.user_id is None


_ACTOR: ContextVar[Actor | None] = ContextVar("sensorium_actor", default=None)


def current_actor() -> Actor | None:
    return _ACTOR.get()


def owner_for_new() -> str | None:
    """The owner to stamp on a record created now."""
    actor = _ACTOR.get()
    return actor.user_id if actor is not None else None


def restricted_to() -> str | None:
    """The only owner whose records may be read now, or None when everything is visible."""
    actor = _ACTOR.get()
    return None if actor is None or actor.sees_all else actor.user_id


def visible(owner_id: str | None) -> bool:
    only = restricted_to()
    return only is None or owner_id == only


@contextmanager
def acting_as(actor: Actor | None) -> Iterator[None]:
    token = _ACTOR.set(actor)
    try:
        yield
    finally:
        _ACTOR.reset(token)
