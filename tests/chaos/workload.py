"""The chaos workload: concurrent writers and a watcher on one bucket, then the audit.

While a scenario kills servers, :class:`Workload` runs, through the public API only:

* putters: each puts once to keys of its own (``p.<writer>.<n>``);
* creators: all race to create the same keys (``c.<n>``), so exactly one may win each;
* CAS clients: a few at a time read (``consistent=True``) and then create or update one
  hot key (``x.<n>``), recording every operation for the linearizability checker; after
  :data:`CAS_OPS_PER_KEY` writes they move on to the next key, so no key ever holds more
  revisions than the bucket keeps (``history=64``) and the audit sees every one;
* one watcher of the whole bucket, started on the empty bucket before any write.

Every value written is unique. Every call is bounded: an operation that has not finished
:data:`HANG_GRACE` seconds after its own timeout counts as hung. A write that failed
without a definite answer (a timeout, a lost connection) is "unknown": it may or may not
have been stored.

The audit (:meth:`Workload.audit`) reads the bucket back with a fresh watcher of every
kept revision and counts: acknowledged writes not present with their value (lost), values
stored more than once or keys created twice (duplicated), revisions stored that the live
watcher did not deliver, or delivered twice or out of order (watch gaps), and histories
the checker cannot linearize (violations; see ``spurious_conflicts`` in
:func:`tests.chaos.linearizability.check` for the one way a clustered server is allowed to
differ from the model, counted apart).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tests.chaos.linearizability import KeyHistory, check

import natskv

__all__ = ["SUMMARIES", "Budget", "Summary", "Workload"]

T = TypeVar("T")

#: every scenario's summary of this run, printed at the end (tests/chaos/conftest.py)
SUMMARIES: list[Summary] = []

CAS_OPS_PER_KEY = 40
#: a pause before each operation: the suite shares its machine, and a few hundred
#: operations a second per writer are plenty to meet every fault mid-flight
PACE = 0.002
BUCKET_HISTORY = 64
HANG_GRACE = 15.0
_DEFINITE = (natskv.KeyExistsError, natskv.WrongRevisionError)


@dataclass(frozen=True)
class Budget:
    """How long a scenario runs: ``rounds`` faults, ``interval`` seconds of traffic
    between them. CI runs the defaults; by hand, ``NATSKV_CHAOS_ROUNDS`` and
    ``NATSKV_CHAOS_INTERVAL`` make it longer."""

    rounds: int = 3
    interval: float = 1.5

    @classmethod
    def from_env(cls) -> Budget:
        rounds = int(os.environ.get("NATSKV_CHAOS_ROUNDS", cls.rounds))
        interval = float(os.environ.get("NATSKV_CHAOS_INTERVAL", cls.interval))
        if rounds < 1 or interval <= 0:
            raise ValueError("NATSKV_CHAOS_ROUNDS must be >= 1 and NATSKV_CHAOS_INTERVAL > 0")
        return cls(rounds, interval)

    def test_timeout(self, per_round: float) -> float:
        """A pytest-timeout for a scenario whose fault takes ``per_round`` seconds."""
        return 90.0 + self.rounds * (self.interval + per_round)


@dataclass
class Summary:
    scenario: str
    attempted: int = 0
    acknowledged: int = 0
    present: int = 0
    lost: int = 0
    duplicated: int = 0
    watch_gaps: int = 0
    hung: int = 0
    unknown: int = 0
    faults: int = 0
    histories: int = 0
    violations: int = 0
    strict_violations: int = 0
    check_seconds: float = 0.0
    undecided: int = 0
    details: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"chaos {self.scenario}: faults {self.faults}, attempted {self.attempted}, "
            f"acknowledged {self.acknowledged}, present {self.present}, lost {self.lost}, "
            f"duplicated {self.duplicated}, watch gaps {self.watch_gaps}, hung {self.hung} "
            f"(unknown outcome {self.unknown}); linearizability: {self.histories} histories, "
            f"{self.violations} violations, {self.undecided} undecided, "
            f"checked in {self.check_seconds:.1f}s "
            f"({self.strict_violations} where the server's in-flight refusals, err_code 10164, "
            f"count as conflicts)"
        )

    @property
    def clean(self) -> bool:
        return not (
            self.lost
            or self.duplicated
            or self.watch_gaps
            or self.hung
            or self.violations
            or self.undecided
        )


def _cause(exc: BaseException) -> str:
    """The server's words behind a KV error (its ``__cause__``), for the report."""
    cause = exc.__cause__
    return str(cause if cause is not None else exc)[:120]


def _dump(scenario: str, history: KeyHistory) -> None:
    """With ``NATSKV_CHAOS_DUMP`` set to a directory, keep a violating history there."""
    folder = os.environ.get("NATSKV_CHAOS_DUMP")
    if not folder:
        return
    os.makedirs(folder, exist_ok=True)
    name = "".join(c if c.isalnum() else "_" for c in f"{scenario}-{history.key}")
    with open(os.path.join(folder, f"{name}.txt"), "w", encoding="utf-8") as out:
        out.write("\n".join(str(op) for op in sorted(history.ops, key=lambda o: o.call)))


class _Hung(Exception):
    """An operation still running :data:`HANG_GRACE` seconds after its own timeout."""


@dataclass
class _Write:
    key: str
    value: bytes
    revision: int = 0  # 0 while not acknowledged


class Workload:
    """Writers and a watcher on ``store`` until :meth:`stop`; then :meth:`audit`."""

    def __init__(
        self,
        store: natskv.KVStore,
        summary: Summary,
        *,
        op_timeout: float,
        putters: int = 2,
        creators: int = 2,
        cas_clients: int = 3,
        seed: int = 0,
    ) -> None:
        self.store = store
        self.summary = summary
        self._op_timeout = op_timeout
        self._rng = random.Random(seed)
        self._stopping = asyncio.Event()
        self._writes: list[_Write] = []
        self._creates: dict[str, list[_Write]] = {}
        self.histories: list[KeyHistory] = [KeyHistory("x.0")]
        self._cas_writes = 0
        self._seen: list[int] = []  # revisions the live watcher delivered, in order
        self._watch_error: BaseException | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._watcher: natskv.KVWatcher[bytes] | None = None
        self._plan = (putters, creators, cas_clients)

    # -- running ------------------------------------------------------------------------

    @property
    def watcher(self) -> natskv.KVWatcher[bytes] | None:
        """The live watcher, once started."""
        return self._watcher

    async def start_watcher(self) -> None:
        """(Re)start the live watcher on the empty bucket, before any write."""
        if self._watcher is not None:
            await self._watcher.stop()
        self._watcher = self.store.watch(">")
        await self._watcher.start()
        await self._watcher.wait_caught_up(10)

    async def start(self) -> None:
        """Start the watcher (caught up on the empty bucket) if not yet, then the writers."""
        if self._watcher is None:
            await self.start_watcher()
        putters, creators, cas_clients = self._plan
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._watch()))
        self._tasks += [loop.create_task(self._putter(w)) for w in range(putters)]
        self._tasks += [loop.create_task(self._creator(w)) for w in range(creators)]
        self._tasks += [loop.create_task(self._cas(c)) for c in range(cas_clients)]

    async def stop(self) -> None:
        """Stop the writers (each finishes its operation), keep the watcher reading."""
        self._stopping.set()
        writers = self._tasks[1:]
        await asyncio.wait_for(asyncio.gather(*writers), self._op_timeout + HANG_GRACE + 5)

    async def _bounded(self, call: Awaitable[T]) -> T:
        task = asyncio.ensure_future(call)
        done, _ = await asyncio.wait({task}, timeout=self._op_timeout + HANG_GRACE)
        if not done:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            self.summary.hung += 1
            raise _Hung
        return task.result()

    async def _write(
        self, write: _Write, call: Callable[[str, bytes], Awaitable[int]]
    ) -> bool | None:
        """Run one write: True if stored, False if refused, None if unknown."""
        self.summary.attempted += 1
        self._writes.append(write)
        try:
            write.revision = await self._bounded(call(write.key, write.value))
        except _DEFINITE:
            return False
        except (natskv.NatsError, _Hung):
            self.summary.unknown += 1
            return None
        self.summary.acknowledged += 1
        return True

    async def _pause_after_failure(self) -> None:
        await asyncio.sleep(0.05 + self._rng.random() * 0.1)

    async def _putter(self, w: int) -> None:
        n = 0
        while not self._stopping.is_set():
            await asyncio.sleep(PACE)
            write = _Write(f"p.{w}.{n}", b"p-%d-%d" % (w, n))
            if await self._write(write, self.store.put) is None:
                await self._pause_after_failure()
            n += 1

    async def _creator(self, w: int) -> None:
        n = 0
        while not self._stopping.is_set():
            await asyncio.sleep(PACE)
            write = _Write(f"c.{n}", b"c-%d-%d" % (w, n))
            self._creates.setdefault(write.key, []).append(write)
            if await self._write(write, self.store.create) is None:
                await self._pause_after_failure()
            n += 1

    async def _cas(self, client: int) -> None:
        n = 0
        while not self._stopping.is_set():
            await asyncio.sleep(PACE)
            if self._cas_writes >= CAS_OPS_PER_KEY:
                self._cas_writes = 0
                self.histories.append(KeyHistory(f"x.{len(self.histories)}"))
            history = self.histories[-1]
            current = await self._cas_read(client, history)
            if current is False:
                await self._pause_after_failure()
                continue
            self._cas_writes += 1
            value = b"x-%d-%d" % (client, n)
            n += 1
            if await self._cas_write(client, history, value, current) is None:
                await self._pause_after_failure()

    async def _cas_read(self, client: int, history: KeyHistory) -> int | bool | None:
        """The key's revision (None: absent), or False when the read failed."""
        op = history.invoke(client, "read")
        try:
            entry = await self._bounded(self.store.get_entry(history.key, consistent=True))
        except natskv.KeyNotFoundError:
            history.complete(op, ok=False)
            return None
        except (natskv.NatsError, _Hung):
            return False  # an unanswered read says nothing; the checker leaves it out
        history.complete(op, ok=True, revision=entry.revision, value=entry.value)
        return entry.revision

    async def _cas_write(
        self, client: int, history: KeyHistory, value: bytes, current: int | None
    ) -> bool | None:
        key = history.key
        write = _Write(key, value)
        if current is None:
            op = history.invoke(client, "create", value)
            call: Callable[[], Awaitable[int]] = lambda: self.store.create(key, value)  # noqa: E731
        else:
            op = history.invoke(client, "update", value, expected=current)
            call = lambda: self.store.update(key, value, current)  # noqa: E731
        self.summary.attempted += 1
        self._writes.append(write)
        try:
            write.revision = await self._bounded(call())
        except natskv.KeyExistsError as exc:
            history.complete(op, ok=False, revision=exc.revision or 0, note=_cause(exc))
            return False
        except natskv.WrongRevisionError as exc:
            history.complete(op, ok=False, revision=exc.actual or 0, note=_cause(exc))
            return False
        except (natskv.NatsError, _Hung):
            self.summary.unknown += 1
            return None  # op.ret stays None: an unknown outcome
        history.complete(op, ok=True, revision=write.revision)
        self.summary.acknowledged += 1
        return True

    async def _watch(self) -> None:
        watcher = self._watcher
        assert watcher is not None
        try:
            while True:
                try:
                    entry = await watcher.next(timeout=1.0)
                except natskv.TimeoutError:
                    continue
                self._seen.append(entry.revision)
        except StopAsyncIteration:
            return
        except BaseException as exc:  # reported by the audit
            self._watch_error = exc
            raise

    # -- the audit -----------------------------------------------------------------------

    async def _settled(self) -> None:
        """Wait until the bucket takes writes again (a leader, a connection)."""
        deadline = time.monotonic() + 60
        while True:
            try:
                await self.store.put("settle", b"")
                return
            except natskv.NatsError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    async def _kept(self) -> list[natskv.KVEntry[bytes]]:
        """Every revision the bucket keeps, read by a new watcher."""
        for attempt in range(5):
            try:
                async with self.store.watch(">", include_history=True) as everything:
                    return await asyncio.wait_for(everything.initial_values(), 60)
            except natskv.NatsError:
                if attempt == 4:
                    raise
                await asyncio.sleep(1)
        raise AssertionError("unreachable")

    async def audit(self, *, report: bool = True) -> Summary:
        """Count what was lost, duplicated, missed by the watcher or not linearizable;
        ``report`` adds the summary to the run's chaos summary lines."""
        s = self.summary
        await self._settled()
        kept = await self._kept()
        last = max((e.revision for e in kept), default=0)
        watcher = self._watcher
        assert watcher is not None
        deadline = time.monotonic() + 30
        while (not self._seen or self._seen[-1] < last) and time.monotonic() < deadline:
            if self._watch_error is not None:
                break
            await asyncio.sleep(0.1)
        await watcher.stop()
        await asyncio.gather(self._tasks[0], return_exceptions=True)
        if self._watch_error is not None:
            s.watch_gaps += 1
            s.details.append(f"the watcher failed: {self._watch_error!r}")

        stored = {(e.key, e.revision): e.value for e in kept if e.key != "settle"}
        by_value: dict[bytes, int] = {}
        for value in stored.values():
            by_value[value] = by_value.get(value, 0) + 1
        for write in self._writes:
            if write.revision:
                if stored.get((write.key, write.revision)) == write.value:
                    s.present += 1
                else:
                    s.lost += 1
                    s.details.append(f"lost: {write.key}@{write.revision} {write.value!r}")
        for value, count in by_value.items():
            if count > 1:
                s.duplicated += count - 1
                s.details.append(f"stored {count} times: {value!r}")
        for key, creates in self._creates.items():
            won = sum(1 for w in creates if w.revision)
            revisions = sum(1 for k, _ in stored if k == key)
            if won > 1 or revisions > 1:
                s.duplicated += max(won, revisions) - 1
                s.details.append(f"created {max(won, revisions)} times: {key}")

        seen = set(self._seen)
        s.duplicated += len(self._seen) - len(seen)
        if len(self._seen) != len(seen):
            s.details.append("the watcher delivered a revision twice")
        disorder = sum(1 for a, b in zip(self._seen, self._seen[1:], strict=False) if b <= a)
        missed = sorted(rev for _, rev in stored if rev not in seen)
        s.watch_gaps += len(missed) + disorder
        if missed:
            s.details.append(f"the watcher missed revisions {missed[:10]}")
        if disorder:
            s.details.append(f"the watcher went backwards {disorder} times")

        for history in self.histories:
            if not history.ops:
                continue
            s.histories += 1
            result = history.check(spurious_conflicts=True)
            if result.linearizable is None:
                s.undecided += 1
            elif not result.linearizable:
                s.violations += 1
                s.details.append(f"{history.key}: {result.explain()}")
                _dump(s.scenario, history)
            # the strict model only counts; an exhaustive search of each refusal is not worth
            # a long wait, so it is bounded (an undecided one is not counted)
            strict = check(history.ops, max_states=20_000) if result.linearizable else result
            if strict.linearizable is False:
                s.strict_violations += 1
            s.check_seconds += result.seconds + (strict.seconds if strict is not result else 0)
        if report:
            SUMMARIES.append(s)
        return s
