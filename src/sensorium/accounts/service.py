"""AccountService: users, API keys, sessions, login throttling, quotas and usage, all in the database.

Every counter is changed by one transaction whose first statement is a write (an insert-or-ignore of
the counter row, then a conditional `UPDATE ... SET n = n + 1 WHERE n < limit`), so any number of
server processes sharing the database count together and never both take the last unit of a quota.
Secrets (passwords, keys, session ids) are never logged and never stored in clear.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from sensorium.accounts import keys as secrets
from sensorium.accounts.passwords import Passwords
from sensorium.accounts.quotas import (
    Limits,
    day_of,
    effective_limits,
    login_retry_after,
    minute_window,
    seconds_to_next_day,
    seconds_to_next_minute,
)
from sensorium.accounts.schemas import (
    AccountInfo,
    KeyInfo,
    KeyUsage,
    LoginResult,
    NewKey,
    Principal,
    QuotaLimits,
    Role,
    UsageDay,
    UsageReport,
    UserInfo,
)
from sensorium.config import Settings
from sensorium.errors import ErrorCode, SensoriumError, invalid, not_found
from sensorium.jobs.schemas import JobRecord
from sensorium.store.database import (
    ApiKeyRow,
    Database,
    LoginFailureRow,
    RateWindowRow,
    SessionRow,
    UsageRow,
    UserRow,
    utcnow,
)

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-z0-9._%+-]+(@[a-z0-9-]+(\.[a-z0-9-]+)+)?$")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _iso(d: datetime | None) -> str | None:
    return d.isoformat() if d else None


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo is not None else d.replace(tzinfo=utcnow().tzinfo)


def unauthorized(message: str, status: int = 401) -> SensoriumError:
    return SensoriumError(ErrorCode.UNAUTHORIZED, message, status=status, headers={"WWW-Authenticate": "Bearer"})


def _key_info(row: ApiKeyRow) -> KeyInfo:
    return KeyInfo(id=row.id, name=row.name, prefix=row.prefix, user_id=row.user_id, created_at=_iso(row.created_at),
                   last_used_at=_iso(row.last_used_at), revoked_at=_iso(row.revoked_at))


class AccountService:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.passwords = Passwords()

    # -- users -------------------------------------------------------------------------
    def _user_info(self, row: UserRow) -> UserInfo:
        return UserInfo(id=row.id, email=row.email, role=row.role, created_at=_iso(row.created_at),  # type: ignore[arg-type]
                        limits=QuotaLimits(**vars(self.limits(row))))

    def limits(self, row: UserRow) -> Limits:
        return effective_limits(self.settings, row.quota_requests, row.quota_processing_seconds,
                                row.quota_upload_bytes)

    def create_user(self, email: str, password: str | None, *, role: Role = "user") -> UserInfo:
        """A new user. `password` None: API keys only (no login). VALIDATION_ERROR if taken or malformed."""
        email = normalize_email(email)
        if not (3 <= len(email) <= 320) or not _NAME.match(email):
            raise invalid("`email` must be an e-mail address or a user name (letters, digits, . _ % + -).",
                          param="email")
        hashed = self.passwords.hash(password) if password is not None else None
        row = UserRow(id=uuid.uuid4().hex, email=email, password_hash=hashed, role=role)
        with self.db.session.begin() as s:
            if s.scalar(select(UserRow.id).where(UserRow.email == email)) is not None:
                raise invalid("An account with this e-mail already exists.", param="email")
            s.add(row)
        log.info("user %s created (role %s)", row.id, role)
        return self._user_info(row)

    def list_users(self) -> list[UserInfo]:
        with self.db.session() as s:
            return [self._user_info(r) for r in s.scalars(select(UserRow).order_by(UserRow.created_at))]

    def user(self, user_id: str) -> UserInfo:
        with self.db.session() as s:
            row = s.get(UserRow, user_id)
            if row is None:
                raise not_found(f"No user with id {user_id!r}.")
            return self._user_info(row)

    def user_by_email(self, email: str) -> UserInfo:
        with self.db.session() as s:
            row = s.scalar(select(UserRow).where(UserRow.email == normalize_email(email)))
            if row is None:
                raise not_found(f"No user {normalize_email(email)!r}.")
            return self._user_info(row)

    def set_quota(self, email: str, **overrides: Any) -> UserInfo:
        """Per-user limits: keyword `requests`, `processing_seconds`, `upload_bytes`; a value of None
        given explicitly resets that limit to the settings' default; 0 = unlimited."""
        columns = {"requests": "quota_requests", "processing_seconds": "quota_processing_seconds",
                   "upload_bytes": "quota_upload_bytes"}
        with self.db.session.begin() as s:
            row = s.scalar(select(UserRow).where(UserRow.email == normalize_email(email)))
            if row is None:
                raise not_found(f"No user {normalize_email(email)!r}.")
            for name, value in overrides.items():
                setattr(row, columns[name], value)
            return self._user_info(row)

    # -- API keys ------------------------------------------------------------------------
    def create_key(self, user_id: str, name: str = "") -> NewKey:
        """A new key for the user: returned in clear this once, stored as its SHA-256."""
        raw = secrets.new_api_key()
        row = ApiKeyRow(id=uuid.uuid4().hex, user_id=user_id, name=name.strip()[:100],
                        prefix=secrets.shown_prefix(raw), key_hash=secrets.digest(raw))
        with self.db.session.begin() as s:
            if s.get(UserRow, user_id) is None:
                raise not_found(f"No user with id {user_id!r}.")
            s.add(row)
        log.info("api key %s (%s...) created for user %s", row.id, row.prefix, user_id)
        return NewKey(key=raw, info=_key_info(row))

    def list_keys(self, user_id: str | None = None) -> list[KeyInfo]:
        """The user's keys (all users' with None), newest first, revoked ones included."""
        q = select(ApiKeyRow).order_by(ApiKeyRow.created_at.desc())
        if user_id is not None:
            q = q.where(ApiKeyRow.user_id == user_id)
        with self.db.session() as s:
            return [_key_info(r) for r in s.scalars(q)]

    def revoke_key(self, key_id: str, *, user_id: str | None = None) -> KeyInfo:
        """Revoke at once. With `user_id`, only that user's key (another's is NOT_FOUND)."""
        with self.db.session.begin() as s:
            row = s.get(ApiKeyRow, key_id)
            if row is None or (user_id is not None and row.user_id != user_id):
                raise not_found(f"No API key with id {key_id!r}.")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            log.info("api key %s revoked", key_id)
            return _key_info(row)

    # -- authentication ---------------------------------------------------------------------
    def principal_for_key(self, raw: str) -> Principal | None:
        """The principal of an API key (a user's, or an operator key from API_KEYS); None if unknown or
        revoked."""
        for operator_key in self.settings.api_keys:
            if secrets.same(raw, operator_key):
                return Principal(user_id=None, email=None, role="admin", via="admin-key",
                                 subject=f"admin-key:{secrets.digest(raw)[:16]}")
        with self.db.session() as s:
            found = s.execute(select(ApiKeyRow, UserRow).join(UserRow, UserRow.id == ApiKeyRow.user_id)
                              .where(ApiKeyRow.key_hash == secrets.digest(raw))).first()
            if found is None or found[0].revoked_at is not None:
                return None
            key, user = found
            return Principal(user_id=user.id, email=user.email, role=user.role, via="key",  # type: ignore[arg-type]
                             key_id=key.id, subject=f"user:{user.id}")

    def principal_for_session(self, session_id: str) -> Principal | None:
        with self.db.session() as s:
            found = s.execute(select(SessionRow, UserRow).join(UserRow, UserRow.id == SessionRow.user_id)
                              .where(SessionRow.id_hash == secrets.digest(session_id))).first()
            if found is None or _aware(found[0].expires_at) <= utcnow():
                return None
            sess, user = found
            return Principal(user_id=user.id, email=user.email, role=user.role, via="session",  # type: ignore[arg-type]
                             csrf_token=sess.csrf_token, subject=f"user:{user.id}")

    def account(self, principal: Principal | None) -> AccountInfo:
        user = self.user(principal.user_id) if principal and principal.user_id else None
        return AccountInfo(auth_mode=self.settings.auth_mode, user=user, via=principal.via if principal else None,
                           csrf_token=principal.csrf_token if principal else None)

    # -- sessions and login -------------------------------------------------------------------
    def login(self, email: str, password: str, address: str, *,
              old_session: str | None = None) -> tuple[str, LoginResult]:
        """A new session (a new id every time: no fixation; `old_session` is ended) and its CSRF token.
        Failed attempts are counted per account and per client address; over the limits: RATE_LIMITED."""
        email = normalize_email(email)
        now = utcnow()
        self._check_login_throttle(email, address, now)
        with self.db.session() as s:
            row = s.scalar(select(UserRow).where(UserRow.email == email))
            stored = row.password_hash if row is not None else None
        if row is None or not self.passwords.verify(stored, password):
            self._record_login_failure(email, address, now)
            log.info("login failed for an account (address %s)", address)
            raise unauthorized("Wrong e-mail or password.")
        session_id, csrf = secrets.new_session_id(), secrets.new_csrf_token()
        expires = now + timedelta(hours=self.settings.session_ttl_hours)
        with self.db.session.begin() as s:
            s.execute(delete(LoginFailureRow).where(LoginFailureRow.scope == "account",
                                                    LoginFailureRow.value == email))
            if old_session:
                s.execute(delete(SessionRow).where(SessionRow.id_hash == secrets.digest(old_session)))
            s.execute(delete(SessionRow).where(SessionRow.expires_at < now))
            s.add(SessionRow(id_hash=secrets.digest(session_id), user_id=row.id, csrf_token=csrf, expires_at=expires))
        log.info("user %s logged in", row.id)
        return session_id, LoginResult(user=self._user_info(row), csrf_token=csrf, expires_at=expires.isoformat())

    def logout(self, session_id: str) -> None:
        with self.db.session.begin() as s:
            s.execute(delete(SessionRow).where(SessionRow.id_hash == secrets.digest(session_id)))

    def _check_login_throttle(self, email: str, address: str, now: datetime) -> None:
        window = self.settings.login_window_seconds
        cutoff = now - timedelta(seconds=window)
        checks = (("account", email, self.settings.login_max_failures_per_account),
                  ("address", address, self.settings.login_max_failures_per_address))
        with self.db.session() as s:
            for scope, value, limit in checks:
                times = s.scalars(select(LoginFailureRow.at).where(
                    LoginFailureRow.scope == scope, LoginFailureRow.value == value,
                    LoginFailureRow.at >= cutoff)).all()
                retry = login_retry_after([_aware(t) for t in times], limit, window, now)
                if retry is not None:
                    what = "this account" if scope == "account" else "your address"
                    raise SensoriumError(ErrorCode.RATE_LIMITED, f"Too many failed logins for {what}; "
                                         f"retry in {retry}s.", headers={"Retry-After": str(retry)})

    def _record_login_failure(self, email: str, address: str, now: datetime) -> None:
        cutoff = now - timedelta(seconds=self.settings.login_window_seconds)
        with self.db.session.begin() as s:
            s.add_all([LoginFailureRow(scope="account", value=email, at=now),
                       LoginFailureRow(scope="address", value=address, at=now)])
            s.execute(delete(LoginFailureRow).where(LoginFailureRow.at < cutoff))

    # -- quotas and usage -------------------------------------------------------------------------
    def _insert_ignore(self, s: Session, table: type, **values: Any) -> int:
        """Create a counter row unless it exists; the statement also takes SQLite's write lock."""
        if self.db.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return s.execute(insert(table).values(**values).on_conflict_do_nothing()).rowcount

    def _user_limits(self, user_id: str | None) -> Limits:
        if user_id is None:  # an operator key: only the per-minute rate limit
            return Limits(0, 0.0, 0, self.settings.rate_limit_per_minute)
        with self.db.session() as s:
            row = s.get(UserRow, user_id)
            if row is None:
                raise unauthorized("The account no longer exists.")
            return self.limits(row)

    def admit(self, principal: Principal, declared_bytes: int = 0) -> None:
        """Count one request against the principal's limits, or refuse it: RATE_LIMITED (per minute) or
        QUOTA_EXCEEDED (per UTC day), both 429 with Retry-After. A refused request is not counted."""
        limits = self._user_limits(principal.user_id)
        now = utcnow()
        with self.db.session.begin() as s:
            if limits.requests_per_minute:
                self._take_rate_slot(s, principal.subject, limits.requests_per_minute, now)
            if principal.user_id is None:
                return
            day = day_of(now)
            self._insert_ignore(s, UsageRow, subject=principal.subject, day=day, requests=0,
                                processing_seconds=0.0, upload_bytes=0)
            used = s.get(UsageRow, (principal.subject, day), populate_existing=True)
            assert used is not None
            retry = {"Retry-After": str(seconds_to_next_day(now))}
            if limits.processing_seconds_per_day and used.processing_seconds >= limits.processing_seconds_per_day:
                raise SensoriumError(ErrorCode.QUOTA_EXCEEDED, "Today's processing time quota "
                                     f"({limits.processing_seconds_per_day:g} s) is used up.", headers=retry)
            if limits.upload_bytes_per_day and used.upload_bytes + declared_bytes > limits.upload_bytes_per_day:
                raise SensoriumError(ErrorCode.QUOTA_EXCEEDED, "Today's upload quota "
                                     f"({limits.upload_bytes_per_day} bytes) would be exceeded.", headers=retry)
            bump = update(UsageRow).where(UsageRow.subject == principal.subject, UsageRow.day == day)
            if limits.requests_per_day:
                bump = bump.where(UsageRow.requests < limits.requests_per_day)
            if s.execute(bump.values(requests=UsageRow.requests + 1)).rowcount != 1:
                raise SensoriumError(ErrorCode.QUOTA_EXCEEDED, "Today's request quota "
                                     f"({limits.requests_per_day}) is used up.", headers=retry)
            if principal.key_id:
                self._add(s, f"key:{principal.key_id}", day, requests=1)
                s.execute(update(ApiKeyRow).where(ApiKeyRow.id == principal.key_id).values(last_used_at=now))

    def _take_rate_slot(self, s: Session, subject: str, per_minute: int, now: datetime) -> None:
        window = minute_window(now)
        if self._insert_ignore(s, RateWindowRow, subject=subject, window=window, count=0):
            s.execute(delete(RateWindowRow).where(RateWindowRow.subject == subject, RateWindowRow.window < window))
        res = s.execute(update(RateWindowRow).where(
            RateWindowRow.subject == subject, RateWindowRow.window == window, RateWindowRow.count < per_minute)
            .values(count=RateWindowRow.count + 1))
        if res.rowcount != 1:
            retry = seconds_to_next_minute(now)
            raise SensoriumError(ErrorCode.RATE_LIMITED, f"More than {per_minute} requests in a minute; "
                                 f"retry in {retry}s.", headers={"Retry-After": str(retry)})

    def _add(self, s: Session, subject: str, day: str, *, requests: int = 0, seconds: float = 0.0,
             upload_bytes: int = 0) -> None:
        self._insert_ignore(s, UsageRow, subject=subject, day=day, requests=0, processing_seconds=0.0,
                            upload_bytes=0)
        s.execute(update(UsageRow).where(UsageRow.subject == subject, UsageRow.day == day).values(
            requests=UsageRow.requests + requests, processing_seconds=UsageRow.processing_seconds + seconds,
            upload_bytes=UsageRow.upload_bytes + upload_bytes))

    def record(self, principal: Principal, seconds: float, upload_bytes: int) -> None:
        """After a response: the request's wall time and body bytes, on the user and on the key."""
        if principal.user_id is None:
            return
        day = day_of(utcnow())
        with self.db.session.begin() as s:
            self._add(s, principal.subject, day, seconds=seconds, upload_bytes=upload_bytes)
            if principal.key_id:
                self._add(s, f"key:{principal.key_id}", day, seconds=seconds, upload_bytes=upload_bytes)

    def record_job(self, job: JobRecord, seconds: float) -> None:
        """A finished job's run time, on its owner (a `JobService.on_finish` hook)."""
        if job.owner_id and seconds > 0:
            with self.db.session.begin() as s:
                self._add(s, f"user:{job.owner_id}", day_of(utcnow()), seconds=seconds)

    def usage(self, user_id: str, days: int = 7) -> UsageReport:
        """Today's counters and limits, the last `days` days, and the same per key."""
        def rows(s: Session, subject: str) -> list[UsageDay]:
            found = s.scalars(select(UsageRow).where(UsageRow.subject == subject)
                              .order_by(UsageRow.day.desc()).limit(days)).all()
            return [UsageDay(day=r.day, requests=r.requests, processing_seconds=round(r.processing_seconds, 3),
                             upload_bytes=r.upload_bytes) for r in found]

        user = self.user(user_id)
        today = day_of(utcnow())
        with self.db.session() as s:
            mine = rows(s, f"user:{user_id}")
            key_ids = s.scalars(select(ApiKeyRow.id).where(ApiKeyRow.user_id == user_id)).all()
            per_key = [KeyUsage(key_id=k, days=d) for k in key_ids if (d := rows(s, f"key:{k}"))]
        current = next((d for d in mine if d.day == today),
                       UsageDay(day=today, requests=0, processing_seconds=0.0, upload_bytes=0))
        assert user.limits is not None
        return UsageReport(user_id=user_id, today=current, limits=user.limits, days=mine, keys=per_key)
