"""Every definition in spec §1.6 (worked, illustrative and third-party examples) evaluates on a
corpus stream without error: the engine handles every shape the spec shows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import pytest

from shoal.engines import Failure, Members, Request, Values, compile_request, run
from shoal.engines.reference import ReferenceEngine
from tests.cases import STREAMS_DIR
from tests.engines.support import load_stream

AS_OF = datetime(2024, 6, 30, 12, tzinfo=UTC)

USERS = [
    "event('Shoes Bought').where( property('price') >= 100 ).within(7 days).count() >= 1",
    """event('Shoes Bought').where(
  property('price') >= trait('avg_spend')
  AND event('Shoes Returned').within(parent: 5 days).count() >= 1
).within(30 days).count() >= 1""",
    "NOT ( event('Shoes Bought').count() >= 1 AND trait('total_spend') > 200 )",
    "entity('orders').where(entity('order-products').count() >= 1).count() >= 1",
    "entity('orders').count() >= 1 OR trait('VIP') = 'true'",
    "entity('orders').where(property('total') > 500).count() >= 1",
    "event('Shoes Bought').within(30 days).avg(property('spend'))",
    "event('Shoes Bought').where( property('price') > 100 AND property('brand') = 'My Brand' )"
    ".min(property('spend'))",
    "event('Shoes Bought').within(30 days).first(property('spend'))",
    "event('Shoes Bought').within(30 days).mode(property('spend'), 2)",
    "event('Shoes Bought').count()",
    """event('Product Added').where(
  NOT event('Order Completed')
        .where(property('product_id') = property(parent: 'product_id'))
        .within(parent: 1 day).count() >= 1
).within(7 days).count() >= 1""",
    "event('Session Started').between(30 days, 90 days).count() >= 1\n"
    "  AND event('Session Started').within(30 days).count() = 0",
    "event('Product Viewed').within(30 days).unique(property('category')).count()",
    "event('Page Viewed').expires_after(30 minutes).count()",
    "trait('primaryEmail').exists()",
    "trait('a') = 'true' OR trait('b') = 'true' OR trait('c') = 'true'",
    "trait('predictive_vip_665') <= .20 AND event('Page Viewed').within(90 days).count() = 0",
    "event('Quote Generated').where(property('quote_id') = trait('quote_id')).count() >= 1",
    "event('Product Added').where(NOT event('Order Completed').within(parent: 30 days).count() = 1)"
    ".between(14 days, 30 days).count() >= 1",
    "trait('j_o_flow__step_ghgzm') = 'true'",
    "trait('email').contains('@')",
    "event('X').where(context('timestamp').before_date('2023-08-25T02:00:00-07:00')).count() >= 1",
    "event('X').sources({exclude: ['QgRHeujRJBM9j18yChyC']}).count()",
]

ACCOUNTS = [
    "ALL ( event('Shoes Bought').count() >= 1 AND trait('total_spend') > 200 )",
    "ALL NOT event('Shoes Bought').count() >= 1",
    "ANY event('Shoes Bought').count() >= 1",
    "ANY event('Audience Entered').within(30 days).count() >= 1",
]


def _evaluate(
    query: str, target: Literal["users", "accounts"], stream: str
) -> Members | Values | Failure:
    compiled = compile_request("example", query, target=target)
    assert isinstance(compiled, Request), compiled
    messages = load_stream(STREAMS_DIR / stream)
    return run(ReferenceEngine(), messages, [compiled], as_of=AS_OF)["example"]


@pytest.mark.parametrize("query", USERS)
@pytest.mark.parametrize("stream", ["shop.jsonl", "funnel.jsonl", "traits.jsonl"])
def test_users_examples_evaluate(query: str, stream: str) -> None:
    assert not isinstance(_evaluate(query, "users", stream), Failure)


@pytest.mark.parametrize("query", ACCOUNTS)
def test_accounts_examples_evaluate(query: str) -> None:
    outcome = _evaluate(query, "accounts", "accounts.jsonl")
    assert isinstance(outcome, Members)


def test_spec_funnel_example_answer() -> None:
    """The doc's funnel on the accounts stream's shoe buyers: none returned shoes."""
    outcome = _evaluate(USERS[1], "users", "accounts.jsonl")
    assert outcome == Members(())
