"""The linearizability checker, fed hand-made histories whose verdict is known."""

from __future__ import annotations

import functools
import random

import pytest
from tests.chaos.linearizability import Op, State, check, step


def read(call: float, ret: float | None, revision: int = 0, value: bytes | None = None) -> Op:
    return Op("read", call, ret, value=value, ok=value is not None, revision=revision)


def create(call: float, ret: float | None, value: bytes, *, ok: bool, revision: int = 0) -> Op:
    return Op("create", call, ret, value=value, ok=ok, revision=revision)


def update(
    call: float, ret: float | None, value: bytes, expected: int, *, ok: bool, revision: int = 0
) -> Op:
    return Op("update", call, ret, value=value, expected=expected, ok=ok, revision=revision)


def put(call: float, ret: float | None, value: bytes, revision: int = 0) -> Op:
    return Op("put", call, ret, value=value, ok=True, revision=revision)


# --- linearizable ---------------------------------------------------------------------


def test_a_sequential_history_of_every_kind_is_linearizable() -> None:
    history = [
        read(0, 1),
        create(2, 3, b"a", ok=True, revision=4),
        create(4, 5, b"b", ok=False, revision=4),
        read(6, 7, 4, b"a"),
        update(8, 9, b"c", 4, ok=True, revision=9),
        update(10, 11, b"d", 4, ok=False, revision=9),
        put(12, 13, b"e", revision=20),
        read(14, 15, 20, b"e"),
    ]
    result = check(history)
    assert result.linearizable, result.explain()


def test_overlapping_creates_one_wins_in_either_order() -> None:
    # b's create is invoked first but a's wins: fine, they overlap
    history = [
        create(0, 10, b"b", ok=False, revision=3),
        create(1, 5, b"a", ok=True, revision=3),
        read(6, 7, 3, b"a"),
    ]
    assert check(history).linearizable


def test_a_read_concurrent_with_an_update_may_see_either_value() -> None:
    base = [create(0, 1, b"a", ok=True, revision=1), update(2, 10, b"b", 1, ok=True, revision=2)]
    assert check([*base, read(3, 4, 1, b"a")]).linearizable
    assert check([*base, read(3, 4, 2, b"b")]).linearizable


def test_an_unanswered_update_may_have_taken_effect() -> None:
    history = [
        create(0, 1, b"a", ok=True, revision=1),
        update(2, None, b"lost?", 1, ok=False),
        read(5, 6, 7, b"lost?"),  # it did, at revision 7
        update(7, 8, b"c", 7, ok=True, revision=8),
    ]
    assert check(history).linearizable


def test_an_unanswered_update_may_never_have_taken_effect() -> None:
    history = [
        create(0, 1, b"a", ok=True, revision=1),
        update(2, None, b"lost?", 1, ok=False),
        update(5, 6, b"c", 1, ok=True, revision=3),
        read(7, 8, 3, b"c"),
    ]
    assert check(history).linearizable


def test_an_unanswered_create_is_bound_by_a_later_failed_create() -> None:
    history = [
        create(0, None, b"a", ok=False),
        create(1, 2, b"b", ok=False, revision=5),
        update(3, 4, b"c", 5, ok=True, revision=6),
    ]
    assert check(history).linearizable


def test_unanswered_reads_are_ignored() -> None:
    history = [create(0, 1, b"a", ok=True, revision=1), read(2, None), read(3, 4, 1, b"a")]
    assert check(history).linearizable


# --- not linearizable -------------------------------------------------------------------


def test_a_stale_read_after_an_acknowledged_update_is_caught() -> None:
    history = [
        create(0, 1, b"a", ok=True, revision=1),
        update(2, 3, b"b", 1, ok=True, revision=2),
        read(4, 5, 1, b"a"),  # invoked after the update was acknowledged
    ]
    result = check(history)
    assert result.linearizable is False
    assert "NOT linearizable" in result.explain()


def test_two_creates_that_both_succeed_are_caught() -> None:
    history = [
        create(0, 10, b"a", ok=True, revision=1),
        create(0, 10, b"b", ok=True, revision=2),
    ]
    assert check(history).linearizable is False


def test_a_lost_update_two_updates_from_one_revision_is_caught() -> None:
    history = [
        create(0, 1, b"a", ok=True, revision=1),
        update(2, 5, b"b", 1, ok=True, revision=2),
        update(2, 5, b"c", 1, ok=True, revision=3),
    ]
    assert check(history).linearizable is False


def test_a_conflict_reported_when_the_revision_matched_is_caught() -> None:
    history = [
        create(0, 1, b"a", ok=True, revision=1),
        update(2, 3, b"b", 1, ok=False, revision=1),
    ]
    assert check(history).linearizable is False


def test_a_conflict_without_a_revision_when_the_key_was_at_expected_is_caught() -> None:
    history = [
        create(0, 1, b"a", ok=True, revision=1),
        update(2, 3, b"b", 1, ok=False),  # the server did not say the revision
    ]
    assert check(history).linearizable is False


def test_a_refusal_without_a_revision_then_a_stale_read_is_caught_only_when_strict() -> None:
    # what a clustered server does (nats-server #7281): c1's update is refused because
    # c2's is in flight, and c1's read, after the refusal, still sees the old revision
    history = [
        create(0, 1, b"a", ok=True, revision=18),
        update(2, 10, b"c2", 18, ok=True, revision=22),
        Op("update", 3, 4, value=b"c1", expected=18, ok=False, client=1),
        Op("read", 5, 6, value=b"a", ok=True, revision=18, client=1),
    ]
    assert check(history).linearizable is False
    assert check(history, spurious_conflicts=True).linearizable is True
    # the weaker model still catches a second success from the same revision
    lost_update = [*history, update(7, 8, b"c3", 18, ok=True, revision=30)]
    assert check(lost_update, spurious_conflicts=True).linearizable is False


def test_revisions_that_go_backwards_are_caught() -> None:
    history = [put(0, 1, b"a", revision=5), put(2, 3, b"b", revision=3)]
    assert check(history).linearizable is False


def test_a_value_never_written_is_caught() -> None:
    history = [create(0, 1, b"a", ok=True, revision=1), read(2, 3, 1, b"ghost")]
    assert check(history).linearizable is False


def test_an_unanswered_write_cannot_take_effect_before_it_was_invoked() -> None:
    history = [
        create(0, 1, b"a", ok=True, revision=1),
        read(2, 3, 5, b"late"),
        update(4, None, b"late", 1, ok=False),
    ]
    assert check(history).linearizable is False


def test_an_unanswered_update_cannot_explain_a_revision_below_its_own() -> None:
    history = [
        create(0, 1, b"a", ok=True, revision=4),
        update(2, None, b"b", 4, ok=False),
        read(5, 6, 3, b"b"),  # the new revision must exceed 4
    ]
    assert check(history).linearizable is False


def test_a_read_of_a_key_that_was_created_saying_not_found_is_caught() -> None:
    history = [create(0, 1, b"a", ok=True, revision=1), read(2, 3)]
    assert check(history).linearizable is False


def test_a_completion_before_the_invocation_is_refused() -> None:
    with pytest.raises(ValueError, match="before it is invoked"):
        check([read(5, 4)])


def test_the_model_steps() -> None:
    at1 = State(1, b"a")
    assert step(at1, update(0, 1, b"b", 1, ok=True, revision=2)) == State(2, b"b")
    assert step(at1, update(0, 1, b"b", 2, ok=True, revision=3)) is None
    # an unanswered put leaves a lower bound, which a read binds
    bound = step(at1, put(0, None, b"x"))
    assert bound == State(1, b"x", exact=False)
    assert step(bound, read(0, 1, 9, b"x")) == State(9, b"x")


# --- at scale -------------------------------------------------------------------------


def _random_history(rng: random.Random, n: int, clients: int, unanswered: float = 0.03) -> list[Op]:
    """A history produced by a real register: each operation takes effect at a random
    instant inside its interval; a share of the writes (``unanswered``) never answer, and
    half of those took effect."""
    ops: list[tuple[float, Op]] = []
    clock = [0.0] * clients
    for _ in range(n):
        c = rng.randrange(clients)
        call = clock[c] + rng.random()
        ret = call + rng.random() * 3
        clock[c] = ret
        kind = rng.choice(["read", "read", "create", "update", "update", "put"])
        op = Op(kind, call, ret, client=c)  # type: ignore[arg-type]
        ops.append((rng.uniform(call, ret), op))
    ops.sort(key=lambda pair: pair[0])
    state, revision = State(), 0
    for i, (_, op) in enumerate(ops):
        if op.kind == "read":
            op.ok = not state.absent
            op.revision, op.value = state.revision, state.value
            continue
        op.value = b"v%d" % i
        if op.kind == "update":
            op.expected = state.revision if rng.random() < 0.6 else rng.randrange(1, 10**6)
        allowed = (
            op.kind == "put"
            or (op.kind == "create" and state.absent)
            or (op.kind == "update" and op.expected == state.revision)
        )
        lost = rng.random() < unanswered
        if allowed and (not lost or rng.random() < 0.5):
            revision += rng.randrange(1, 4)
            state = State(revision, op.value)
            op.ok, op.revision = True, revision
        else:
            op.ok, op.revision = False, state.revision
        if lost:
            op.ret, op.ok, op.revision = None, False, 0
    return [op for _, op in ops]


@pytest.mark.parametrize("seed", range(5))
def test_a_large_random_valid_history_checks_with_few_states(seed: int) -> None:
    history = _random_history(random.Random(seed), 2000, 6, unanswered=0.005)
    result = check(history)
    assert result.linearizable, result.explain()
    # the pruning keeps the search near linear in the history's length
    assert result.states < 20 * len(history)


@pytest.mark.parametrize("seed", range(20))
def test_random_valid_histories_with_many_unanswered_writes_are_linearizable(seed: int) -> None:
    history = _random_history(random.Random(seed), 200, 4, unanswered=0.1)
    result = check(history)
    assert result.linearizable, result.explain()


@pytest.mark.parametrize("seed", range(5))
def test_a_large_random_history_with_one_wrong_final_read_is_caught(seed: int) -> None:
    history = _random_history(random.Random(seed), 500, 4, unanswered=0.01)
    end = max(op.ret or op.call for op in history) + 10
    history.append(read(end, end + 1, 10**9, b"never written"))
    assert check(history).linearizable is False


def test_the_search_gives_up_past_max_states() -> None:
    history = _random_history(random.Random(1), 300, 4)
    assert check(history, max_states=10).linearizable is None


def _brute_force(history: list[Op]) -> bool:
    """Every order that respects real time, tried one by one (small histories only)."""
    ops = [op for op in history if not (op.kind == "read" and op.ret is None)]

    @functools.cache
    def search(done: int, state: State) -> bool:
        waiting = [op.ret for i, op in enumerate(ops) if not done >> i & 1 and op.ret is not None]
        if not waiting:
            return True
        first_return = min(waiting)
        for i, op in enumerate(ops):
            if done >> i & 1 or op.call > first_return:
                continue
            after = step(state, op)
            if after is not None and search(done | 1 << i, after):
                return True
        return False

    return search(0, State())


@pytest.mark.parametrize("seed", range(4))
def test_the_search_agrees_with_brute_force_on_small_corrupted_histories(seed: int) -> None:
    rng = random.Random(seed)
    verdicts = set()
    for _ in range(150):
        history = _random_history(rng, rng.randrange(4, 11), 3, unanswered=0.15)
        victim = rng.choice(history)  # one output changed: the history may stay legal or not
        if rng.random() < 0.5:
            victim.revision = rng.randrange(0, 8)
        else:
            victim.ok = not victim.ok
        expected = _brute_force(history)
        assert check(history).linearizable is expected, "\n".join(map(str, history))
        verdicts.add(expected)
    assert verdicts == {True, False}
