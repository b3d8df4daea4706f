"""A linearizability checker for the history of one Key/Value key (Wing & Gong, with pruning).

The chaos suite records, for one key, every operation's invocation and completion
(``time.monotonic()``) and result. This module decides whether some order of those
operations, each placed at one instant between its invocation and its completion, is a
legal sequential history of the key, as Knossos and Porcupine decide it for their models.

The model is a register with a revision:

* ``create(v)`` succeeds only on an absent key (returning the new revision) and otherwise
  fails with the current revision;
* ``update(v, expected)`` succeeds only when the key is at ``expected`` and otherwise fails
  with the current revision (when the server said it);
* ``put(v)`` always succeeds;
* ``read()`` returns ``(revision, value)`` or "not found".

Every write that succeeds makes a revision greater than the one before (the bucket's
stream sequence: increasing, not contiguous, since other keys share it).

Unknown outcomes: an operation that never answered (a timeout, a connection lost with the
request in flight) has ``ret=None``. It may have taken effect at any instant after its
invocation, or never. If it did, its revision is unknown: the state then holds a lower
bound (``exact=False``) until a later operation shows the revision, which binds it. A read
that never answered says nothing and is left out.

The search is Wing & Gong's: walk the invocation and completion events in time order; any
operation invoked before the first completion not yet linearized may go next (it is
applied to the model), tried in the order of invocation; when none fits, undo the last
choice and try the next. Porcupine's pruning
makes it fast: a (set of linearized operations, model state) pair already explored is
never explored again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["CheckResult", "KeyHistory", "Op", "State", "check", "step"]

Kind = Literal["read", "create", "update", "put"]
WRITES = ("create", "update", "put")


@dataclass
class Op:
    """One operation on the key. ``ret`` is ``None`` when it never answered.

    Inputs: ``value`` (what a write writes), ``expected`` (an update's revision).
    Outputs: ``ok`` (the write was stored, the read found the key), ``revision`` (a write's
    new revision; a failed create's or update's current revision, 0 when not told; a read's
    revision) and, for a read, ``value`` (what it read).
    """

    kind: Kind
    call: float
    ret: float | None = None
    value: bytes | None = None
    expected: int = 0
    ok: bool = False
    revision: int = 0
    client: int = 0
    #: what a failed operation said (for the report only)
    note: str = ""

    def __str__(self) -> str:
        ret = "?" if self.ret is None else f"{self.ret:.6f}"
        args = {"read": "", "create": f"{self.value!r}", "put": f"{self.value!r}"}.get(
            self.kind, f"{self.value!r}, expected={self.expected}"
        )
        if self.ret is None:
            out = "unknown"
        elif self.ok:
            out = f"ok rev={self.revision}" + (f" {self.value!r}" if self.kind == "read" else "")
        else:
            out = "not found" if self.kind == "read" else f"failed rev={self.revision or '?'}"
        note = f" ({self.note})" if self.note else ""
        return f"c{self.client} {self.kind}({args}) [{self.call:.6f}, {ret}] -> {out}{note}"


@dataclass(frozen=True)
class State:
    """The key: absent (``value is None``), or ``value`` at ``revision``.

    ``exact=False``: a write of unknown outcome put ``value`` there, at some revision
    greater than ``revision``.
    """

    revision: int = 0
    value: bytes | None = None
    exact: bool = True

    @property
    def absent(self) -> bool:
        return self.value is None


ABSENT = State()


def _at(state: State, revision: int) -> State | None:
    """``state`` known to be at ``revision``, or ``None`` if it cannot be."""
    if state.exact:
        return state if state.revision == revision else None
    return State(revision, state.value) if revision > state.revision else None


def step(state: State, op: Op, *, spurious_conflicts: bool = False) -> State | None:
    """The state after ``op`` takes effect, or ``None`` when it cannot at this point.

    ``spurious_conflicts``: an update refused without the key's current revision may be
    refused in any state (see :func:`check`).
    """
    if op.ret is None:
        return _step_unknown(state, op)
    if op.kind == "read":
        if not op.ok:
            return state if state.absent else None
        known = _at(state, op.revision)
        return known if known is not None and known.value == op.value else None
    if op.kind == "put":
        return State(op.revision, op.value) if op.revision > state.revision else None
    if op.kind == "create":
        if op.ok:
            return State(op.revision, op.value) if state.absent and op.revision > 0 else None
        if state.absent:
            return None
        return state if op.revision == 0 else _at(state, op.revision)
    # update
    if op.ok:
        known = _at(state, op.expected)
        return State(op.revision, op.value) if known and op.revision > op.expected else None
    if op.revision == 0:  # a mismatch without the current revision
        if spurious_conflicts:
            return state
        return state if not (state.exact and state.revision == op.expected) else None
    if op.revision == op.expected:
        return None
    return _at(state, op.revision)


def _step_unknown(state: State, op: Op) -> State | None:
    """An unanswered write, taking effect now (its new revision unknown)."""
    if op.kind == "put":
        return State(state.revision, op.value, exact=False)
    if op.kind == "create":
        return State(0, op.value, exact=False) if state.absent else None
    if op.kind == "update":
        if state.exact and state.revision != op.expected:
            return None
        if not state.exact and op.expected <= state.revision:
            return None
        return State(op.expected, op.value, exact=False)
    return None  # an unanswered read is never linearized (check() leaves them out)


@dataclass
class CheckResult:
    """``linearizable`` is ``None`` when the search gave up (``max_states``)."""

    linearizable: bool | None
    ops: int
    states: int
    seconds: float
    #: on a violation: the longest linearized prefix found, in order
    longest: list[Op] = field(default_factory=list)

    def explain(self) -> str:
        if self.linearizable:
            return f"linearizable ({self.ops} operations, {self.states} states)"
        if self.linearizable is None:
            return f"undecided after {self.states} states ({self.ops} operations)"
        prefix = "\n  ".join(str(op) for op in self.longest[-8:])
        return (
            f"NOT linearizable ({self.ops} operations); the longest legal prefix "
            f"({len(self.longest)} operations) ends:\n  {prefix}"
        )


class _Node:
    """An event of the doubly linked list the search walks (a call or a return)."""

    __slots__ = ("id", "match", "next", "op", "prev")

    def __init__(self, op: Op | None, id_: int) -> None:
        self.op = op
        self.id = id_
        self.match: _Node | None = None  # a call's return event; None on a return
        self.prev: _Node | None = None
        self.next: _Node | None = None


def _events(ops: Sequence[Op]) -> _Node:
    """The head (a sentinel) of the event list, in time order; calls before returns at
    the same instant (so touching operations count as concurrent, as in Porcupine)."""
    last_ret = max([o.ret for o in ops if o.ret is not None] + [o.call for o in ops] + [0.0])
    infinity = last_ret + 1.0
    events: list[tuple[float, int, int, _Node]] = []
    for i, op in enumerate(ops):
        call, ret = _Node(op, i), _Node(None, i)
        call.match = ret
        events.append((op.call, 0, i, call))
        events.append((infinity if op.ret is None else op.ret, 1, i, ret))
    events.sort(key=lambda e: e[:3])
    head = _Node(None, -1)
    prev = head
    for *_, node in events:
        prev.next, node.prev = node, prev
        prev = node
    return head


def _lift(call: _Node) -> None:
    assert call.prev is not None and call.match is not None and call.match.prev is not None
    call.prev.next = call.next
    if call.next is not None:
        call.next.prev = call.prev
    ret = call.match
    ret.prev.next = ret.next  # type: ignore[union-attr]
    if ret.next is not None:
        ret.next.prev = ret.prev


def _unlift(call: _Node) -> None:
    ret = call.match
    assert ret is not None and ret.prev is not None and call.prev is not None
    ret.prev.next = ret
    if ret.next is not None:
        ret.next.prev = ret
    call.prev.next = call
    if call.next is not None:
        call.next.prev = call


def check(
    history: Iterable[Op], *, spurious_conflicts: bool = False, max_states: int = 2_000_000
) -> CheckResult:
    """Whether ``history`` (one key's operations, any order) is linearizable.

    ``spurious_conflicts`` weakens the model where a clustered nats-server is known to
    differ from it: the stream leader refuses a compare-and-set (err_code 10164, "wrong
    last sequence" without a number) while another write to the same key is proposed but
    not yet applied, and a read from the leader then still shows the revision the refused
    update expected (nats-server #7281). With it, such a refusal says nothing about the
    key; every other operation is checked as before.
    """
    started = time.monotonic()
    ops = [op for op in history if not (op.kind == "read" and op.ret is None)]
    for op in ops:
        if op.ret is not None and op.ret < op.call:
            raise ValueError(f"an operation completes before it is invoked: {op}")
    head = _events(ops)
    pending = sum(1 for op in ops if op.ret is not None)  # answered, not yet linearized
    state = ABSENT
    linearized = 0
    seen: set[tuple[int, State]] = set()
    stack: list[tuple[_Node, State]] = []  # the linearized calls, with the state before each
    longest: list[Op] = []
    states = 0
    entry = head.next
    while pending:
        assert entry is not None  # an answered op not linearized keeps its return in the list
        if entry.match is not None:  # a call: try to linearize it here
            assert entry.op is not None
            after = step(state, entry.op, spurious_conflicts=spurious_conflicts)
            if after is not None:
                key = (linearized | (1 << entry.id), after)
                if key not in seen:
                    seen.add(key)
                    states += 1
                    if states > max_states:
                        return CheckResult(None, len(ops), states, time.monotonic() - started)
                    stack.append((entry, state))
                    state, linearized = after, key[0]
                    if entry.op.ret is not None:
                        pending -= 1
                    _lift(entry)
                    entry = head.next
                    continue
            entry = entry.next
        else:  # the return of an op not linearized yet: undo the last choice, try the next
            if len(stack) > len(longest):
                longest = [e.op for e, _ in stack if e.op is not None]
            if not stack:
                return CheckResult(False, len(ops), states, time.monotonic() - started, longest)
            entry, state = stack.pop()
            assert entry.op is not None
            linearized &= ~(1 << entry.id)
            if entry.op.ret is not None:
                pending += 1
            _unlift(entry)
            entry = entry.next
    return CheckResult(True, len(ops), states, time.monotonic() - started)


class KeyHistory:
    """Records one key's operations as the chaos clients run them."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.ops: list[Op] = []

    def invoke(self, client: int, kind: Kind, value: bytes | None = None, expected: int = 0) -> Op:
        """Record an invocation now; fill in the returned op with :meth:`complete`."""
        op = Op(kind, time.monotonic(), value=value, expected=expected, client=client)
        self.ops.append(op)
        return op

    @staticmethod
    def complete(
        op: Op, *, ok: bool, revision: int = 0, value: bytes | None = None, note: str = ""
    ) -> None:
        """Record the answer of ``op`` now (a read's ``value``; writes keep theirs)."""
        op.ret = time.monotonic()
        op.ok = ok
        op.note = note
        op.revision = revision
        if op.kind == "read":
            op.value = value

    def check(self, *, spurious_conflicts: bool = False) -> CheckResult:
        return check(self.ops, spurious_conflicts=spurious_conflicts)
