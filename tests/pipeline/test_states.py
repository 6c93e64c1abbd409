"""The state machine: its table, and the one way a push ends."""

from __future__ import annotations

import pytest

from app import states
from app.models import PushRequest
from tests.pipeline.conftest import audit, request

#: The moves a request may make, spelled out: changing one is a decision, not a refactor.
TABLE = {
    "queued": {"staging", "uploading", "waiting", "delivering_callback", "failed", "cancelled"},
    "staging": {"transcoding", "uploading", "waiting", "delivering_callback", "failed", "cancelled"},
    "transcoding": {"uploading", "waiting", "delivering_callback", "failed", "cancelled"},
    # waiting (parked until resume_at): resumes its stage, or is cancelled, or ends.
    "waiting": {"staging", "transcoding", "uploading", "delivering_callback", "failed", "cancelled"},
    "uploading": {"processing", "waiting", "delivering_callback", "succeeded", "failed", "unconfirmed"},
    "processing": {"waiting", "delivering_callback", "succeeded", "failed", "unconfirmed"},
    "delivering_callback": {"succeeded", "failed", "unconfirmed"},
    "succeeded": set(),
    "failed": set(),
    "cancelled": set(),
    "unconfirmed": set(),
}


def test_the_transition_table_is_pinned():
    assert {state: set(to) for state, to in states.ALLOWED.items()} == TABLE
    assert set(states.STATES) == set(TABLE) and len(states.STATES) == len(TABLE)
    assert states.FINAL_STATES == {state for state, to in TABLE.items() if not to}
    assert set(states.OUTCOMES) == {"succeeded", "failed", "unconfirmed"} < states.FINAL_STATES


def test_unconfirmed_is_final(rt, make_push):
    request_id = make_push({"message": "hi"})
    with rt.db.session() as session:
        push = session.get(PushRequest, request_id)
        states.transition(session, push, states.UPLOADING, "provider upload started")
        states.finish(session, push, states.UNCONFIRMED, "outcome_unknown: lost answer")
    for target in ("succeeded", "failed"):
        with rt.db.session() as session, pytest.raises(states.InvalidTransition):
            states.finish(session, session.get(PushRequest, request_id), target, "an operator's guess")
    assert request(rt, request_id).state == "unconfirmed"


def test_only_finish_ends_a_push(rt, make_push):
    """A bare transition to a final outcome state would leave ``outcome`` unset."""
    request_id = make_push({"message": "hi"})
    with rt.db.session() as session:
        push = session.get(PushRequest, request_id)
        states.transition(session, push, states.UPLOADING, "provider upload started")
        for target in states.OUTCOMES:
            with pytest.raises(states.InvalidTransition, match="finish"):
                states.transition(session, push, target, "done")
        with pytest.raises(ValueError):
            states.finish(session, push, states.CANCELLED, "not an outcome")
    assert request(rt, request_id).state == "uploading"


@pytest.mark.parametrize("outcome", states.OUTCOMES)
@pytest.mark.parametrize("by_id", [False, True], ids=["orm", "by-id"])
def test_finish_records_the_outcome_with_or_without_a_callback(rt, make_push, outcome, by_id):
    """The ORM form and the by-id form (the text fast path) write the same row and audit."""
    results = {}
    for callback in (False, True):
        payload = {"message": "hi", **({"callback_url": "http://127.0.0.1:9/cb"} if callback else {})}
        request_id = make_push(payload)
        with rt.db.session() as session:
            push = session.get(PushRequest, request_id)
            states.transition(session, push, states.UPLOADING, "provider upload started")
            target = request_id if by_id else push
            states.finish(session, target, outcome, "why", from_state=states.UPLOADING if by_id else None,
                          callback=callback, result={"post_id": "1"})
            if not by_id:
                assert push.outcome == outcome and push not in session.dirty
        push = request(rt, request_id)
        results[callback] = (push.state, push.outcome, push.result, push.finished_at is not None,
                             push.next_callback_at is not None, audit(rt, request_id)[-1])
    assert results[False] == (outcome, outcome, {"post_id": "1"}, True, False, ("uploading", outcome, "why"))
    assert results[True] == ("delivering_callback", outcome, {"post_id": "1"}, False, True,
                             ("uploading", "delivering_callback", "why"))


def test_a_stale_finish_loses_to_the_one_that_moved_first(rt, make_push):
    request_id = make_push({"message": "hi"})
    with rt.db.session() as session:
        states.transition(session, session.get(PushRequest, request_id), states.UPLOADING, "started")
    with rt.db.session() as session:
        states.finish(session, request_id, "succeeded", "first", from_state="uploading")
    with rt.db.session() as session, pytest.raises(states.MovedConcurrently):
        states.finish(session, request_id, "failed", "second", from_state="uploading")
    assert request(rt, request_id).outcome == "succeeded"
    assert [row[1] for row in audit(rt, request_id)] == ["queued", "uploading", "succeeded"]


def test_one_list_of_states_everywhere():
    from app import cli_client
    from app.docs import envelopes
    from app.status import views

    assert views.STATES is envelopes.STATES is states.STATES
    assert cli_client.FINAL_STATES is states.FINAL_STATES
