"""The reminder dispatcher: claims due rows, sends them, settles them. Any number of
replicas run side by side; the database decides who sends what, and when."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from clinic import db
from clinic.dispatch.listener import Wakeup
from clinic.dispatch.metrics import DispatchMetrics
from clinic.dispatch.policy import Pace, RetryPolicy, outcome_of
from clinic.reminders import quiet
from clinic.reminders.models import (
    RELEASED,
    SENT,
    ClaimedNotification,
    Outcome,
    Outgoing,
    Quiet,
    Render,
)
from clinic.reminders.service import JobTable
from clinic.telegram.botapi import BotApiError, RateLimited
from clinic.telegram.outbox import Sender

log = logging.getLogger("clinic.reminders")

DB_ERRORS = db.FAILURES
PURGE_CHUNK = 5_000


class Dispatcher:
    """Sends due notifications through `sender` until cancelled; `renderers` say how each
    kind of row reads (the areas that plan a kind provide its renderer).

    A claim leases up to `batch_size` rows (fewer when paced) in one statement and
    commits before any Bot API call. Up to `pipeline` claimed batches are in flight at
    once, their sends bounded by `concurrency`; each batch is settled by one statement.
    """

    def __init__(
        self,
        jobs: JobTable,
        sender: Sender,
        *,
        renderers: Mapping[str, Render],
        listen_dsn: str,
        quiet: Quiet | None = None,
        pace: Pace | None = None,
        retry: RetryPolicy | None = None,
        batch_size: int = 500,
        concurrency: int = 100,
        pipeline: int = 2,
        lease: timedelta = timedelta(seconds=30),
        poll_interval: float = 5.0,
        grace: float = 5.0,
        retention: timedelta = timedelta(days=30),
        purge_every: float = 600.0,
        metrics: DispatchMetrics | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._jobs = jobs
        self._sender = sender
        self._renderers = renderers
        self._quiet = quiet
        self.pace = pace or Pace()
        self._retry = retry or RetryPolicy()
        self._batch_size = batch_size
        self._slots = asyncio.Semaphore(concurrency)
        self._pipeline = pipeline
        self._lease = lease.total_seconds()
        # A send that outlives its lease may be sent again by another replica: bound it.
        self._send_timeout = self._lease / 2
        self._poll_interval = poll_interval
        self._grace = grace
        self._retention = retention.total_seconds()
        self._purge_every = purge_every
        self._next_purge = 0.0
        self.metrics = metrics or DispatchMetrics()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self._wakeup = Wakeup(listen_dsn, channel=jobs.channel, max_retry=poll_interval)
        self._batches: set[asyncio.Task[None]] = set()
        self._resume_at = 0.0  # monotonic: after a 429, claim nothing before this
        self._stopping = False

    async def run(self) -> None:
        """Dispatches until cancelled; then stops claiming, lets sends in flight finish for
        up to `grace` seconds, and gives every unsent lease back."""
        listener = asyncio.create_task(self._wakeup.run(), name="reminders-listen")
        try:
            await self._dispatch()
        finally:
            self._stopping = True
            listener.cancel()
            await self._drain()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            log.info("dispatcher stopped", extra={"counters": self.metrics.snapshot()})

    def wake(self) -> None:
        """Claims at once: this process just committed rows that are due now."""
        self._wakeup.event.set()

    async def wait_listening(self) -> None:
        """Returns once the LISTEN connection is up (for tests and start-up checks)."""
        await self._wakeup.connected.wait()

    async def _dispatch(self) -> None:
        failures = 0
        while True:
            while len(self._batches) >= self._pipeline:
                await asyncio.wait(self._batches, return_when=asyncio.FIRST_COMPLETED)
            if (pause := self._resume_at - time.monotonic()) > 0:
                await asyncio.sleep(pause)
            self._wakeup.event.clear()
            try:
                if await self._claim():
                    failures = 0
                    continue
                await self._purge_now_and_then()
                delay, throttled = await self._until_next()
                failures = 0
                if throttled:
                    # Due rows wait for tokens: a wake-up cannot bring them sooner, so
                    # a burst of bookings costs a claim a tick, not a claim each.
                    await asyncio.sleep(delay)
                    continue
            except Exception as exc:  # the loop outlives anything, or reminders stop
                failures += 1
                delay = min(self._poll_interval, 0.5 * 2**failures)
                if isinstance(exc, DB_ERRORS):
                    log.warning("dispatcher: database error %s; retrying in %.1f s", exc, delay)
                else:
                    log.exception("dispatcher: unexpected error; retrying in %.1f s", delay)
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
            # that coincides with the event, and the dispatcher would never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wakeup.event.wait()

    async def _claim(self) -> bool:
        """Claims one batch and starts sending it; False when nothing was claimed."""
        pace = self.pace
        # Paced, a claim uses a few tokens: it need not lock a whole batch of candidates.
        batch = min(self._batch_size, 4 * math.ceil(pace.burst)) if pace.limited else None
        claim = asyncio.ensure_future(
            self._jobs.claim(
                batch=batch or self._batch_size,
                lease_seconds=self._lease,
                rate=pace.rate,
                burst=pace.burst,
                chat_interval_seconds=pace.chat_interval,
            )
        )
        try:
            claimed = await asyncio.shield(claim)
        except asyncio.CancelledError:
            # Stopped mid-claim: a claim that committed still hands its rows back.
            self._stopping = True
            with contextlib.suppress(Exception):
                self._start_batch(await claim)
            raise
        if not claimed:
            return False
        self.metrics.claimed_batches += 1
        self.metrics.claimed += len(claimed)
        self.metrics.oldest_due_age = max(0.0, max(row.overdue for row in claimed))
        self.metrics.skipped += sum(row.status != "sending" for row in claimed)
        self._start_batch(claimed)
        return True

    def _start_batch(self, claimed: list[ClaimedNotification]) -> None:
        live = [row for row in claimed if row.status == "sending"]
        if live:
            batch = asyncio.create_task(self._deliver(live), name="reminders-batch")
            self._batches.add(batch)
            batch.add_done_callback(self._batch_done)

    async def _until_next(self) -> tuple[float, bool]:
        """Seconds to sleep: until the next due row or lease expiry, within the poll; and
        whether due rows are left unclaimed (throttled)."""
        seconds = await self._jobs.next_due()
        if seconds is None:
            self.metrics.oldest_due_age = 0.0
            return self._poll_interval, False
        self.metrics.oldest_due_age = max(0.0, -seconds)
        if seconds > 0:
            return min(seconds, self._poll_interval), False
        # Due but not claimed: out of tokens, its chat paced, or another replica's claim
        # held the rows for that moment.
        return (self.pace.tick if self.pace.limited else 0.05), True

    def _batch_done(self, batch: asyncio.Task[None]) -> None:
        self._batches.discard(batch)
        if not batch.cancelled() and (error := batch.exception()) is not None:
            log.error("dispatcher: a batch failed", exc_info=error)

    async def _deliver(self, rows: list[ClaimedNotification]) -> None:
        outcomes: dict[int, Outcome] = {}
        started: set[int] = set()
        sent: dict[int, int] = {}  # row id: the message id Telegram gave it
        try:
            # One deadline for the batch: a send that outlived its lease could be sent
            # again by another replica.
            async with asyncio.timeout(self._send_timeout):
                await asyncio.gather(*(self._send(row, outcomes, started, sent) for row in rows))
        except TimeoutError:
            log.warning("dispatcher: sends still unanswered at the batch deadline")
        finally:
            if not self._stopping:  # stopping: whatever did not finish is given back
                for row in rows:
                    if row.id in started and row.id not in outcomes:
                        outcomes[row.id] = self._failure(row, TimeoutError("no answer in time"))
            await self._settle(rows, outcomes, sent)
            self._wakeup.event.set()  # retries may now be due before the loop's wake-up

    async def _send(
        self,
        row: ClaimedNotification,
        outcomes: dict[int, Outcome],
        started: set[int],
        sent: dict[int, int],
    ) -> None:
        async with self._slots:
            if self._stopping:
                return  # left out of outcomes: released
            decided = quiet.verdict(
                row.kind, starts_at=row.starts_at, now=row.claimed_at, quiet=self._quiet
            )
            if decided.action != "send":
                outcomes[row.id] = held(decided, row.claimed_at)
                return
            message = self._renderers[row.kind](row)
            started.add(row.id)
            try:
                answer = await self._deliver_one(row, message, silent=decided.silent)
                if isinstance(answer.get("message_id"), int):
                    sent[row.id] = answer["message_id"]
            except BotApiError as exc:
                outcomes[row.id] = self._failure(row, exc)
                if isinstance(exc, RateLimited):
                    self._resume_at = max(self._resume_at, time.monotonic() + exc.retry_after)
            except Exception as exc:
                log.exception("dispatcher: sending notification %d failed", row.id)
                outcomes[row.id] = self._failure(row, exc)
            else:
                outcomes[row.id] = SENT
                await self._strip(row)

    async def _deliver_one(
        self, row: ClaimedNotification, message: Outgoing, *, silent: bool
    ) -> dict[str, Any]:
        """The message; then its document, if any, right after it. The message is what
        the row stands for: a document that fails is logged, not sent again."""
        sent = await self._sender.send_message(
            row.chat_id,
            message.text,
            reply_markup=message.reply_markup,
            disable_notification=silent,
        )
        if message.document is not None:
            document = message.document
            try:
                await self._sender.send_document(
                    row.chat_id,
                    file_name=document.file_name,
                    content=document.content,
                    mime_type=document.mime_type,
                    caption=document.caption,
                    disable_notification=True,
                )
            except BotApiError as exc:
                log.warning("notification %d: its document was not sent: %s", row.id, exc)
        return sent

    async def _strip(self, row: ClaimedNotification) -> None:
        """After a notice that a booking was cancelled or moved: the chat's older cards of
        it lose their buttons, so no stale button stays. Best effort: a card too old to
        edit, or already bare, keeps what it has."""
        for message_id in row.cards:
            try:
                await self._sender.edit_message_reply_markup(row.chat_id, message_id)
            except BotApiError as exc:
                log.debug("card %d of chat %d kept its buttons: %s", message_id, row.chat_id, exc)

    def _failure(self, row: ClaimedNotification, error: BaseException) -> Outcome:
        return outcome_of(error, attempts=row.attempts, policy=self._retry, rng=self._rng)

    async def _settle(
        self,
        rows: list[ClaimedNotification],
        outcomes: dict[int, Outcome],
        sent: dict[int, int],
    ) -> None:
        """Records the batch's outcomes in one statement; 403s also block their users
        and cancel the rest of their messages, in the same transaction."""
        results = [(row, outcomes.get(row.id, RELEASED)) for row in rows]
        try:
            settled = await self._jobs.settle(
                results,
                chat_interval_seconds=self.pace.chat_interval if self.pace.limited else 0.0,
                message_ids=sent,
            )
            rate_limited = [o.delay for r, o in results if o.rate_limited and r.id in settled]
            if rate_limited and self.pace.limited:
                await self._jobs.slow_down(
                    retry_after=max(rate_limited), rate=self.pace.rate, burst=self.pace.burst
                )
        except Exception as exc:
            log.warning(
                "dispatcher: settling %d rows failed (%s); their leases will lapse", len(rows), exc
            )
            return
        for row, outcome in results:
            self.metrics.record(outcome, settled=row.id in settled)

    async def _purge_now_and_then(self) -> None:
        now = time.monotonic()
        if now < self._next_purge:
            return
        self._next_purge = now + self._purge_every
        await self._jobs.purge(retention_seconds=self._retention, chunk=PURGE_CHUNK)

    async def _drain(self) -> None:
        """Lets sends in flight finish within the grace period, then cancels the rest;
        every batch settles on its way out, giving back what it did not send."""
        if not self._batches:
            return
        _done, late = await asyncio.wait(set(self._batches), timeout=self._grace)
        for batch in late:
            batch.cancel()
        if late:
            await asyncio.wait(late, timeout=self._grace)


def held(decided: quiet.Verdict, now: datetime) -> Outcome:
    """A message not sent now: due again when quiet hours end, or dropped."""
    if decided.action == "drop":
        return Outcome("cancelled", error=decided.reason)
    until = decided.until or now
    delay = max(0.0, (until - now).total_seconds())
    return Outcome("pending", delay=delay, refund=1, error=decided.reason)
