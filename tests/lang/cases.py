"""Definitions that must parse and type-check: every example of spec §1.6 plus shapes seen live.

Each entry is ``(kind, target, text)``. Spec comments (``# ...``) are left out; the illustrative
session-window example ends in ``...`` in the spec and is completed here with ``.count()``.
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["audience", "trait"]
Target = Literal["users", "accounts"]

SPEC_EXAMPLES: list[tuple[Kind, Target, str]] = [
    (
        "audience",
        "users",
        "event('Shoes Bought').where( property('price') >= 100 ).within(7 days).count() >= 1",
    ),
    (
        "audience",
        "users",
        """event('Shoes Bought').where(
  property('price') >= trait('avg_spend')
  AND event('Shoes Returned').within(parent: 5 days).count() >= 1
).within(30 days).count() >= 1""",
    ),
    (
        "audience",
        "users",
        "NOT ( event('Shoes Bought').count() >= 1 AND trait('total_spend') > 200 )",
    ),
    (
        "audience",
        "accounts",
        "ALL ( event('Shoes Bought').count() >= 1 AND trait('total_spend') > 200 )",
    ),
    ("audience", "accounts", "ALL NOT event('Shoes Bought').count() >= 1"),
    ("audience", "accounts", "ANY event('Shoes Bought').count() >= 1"),
    (
        "audience",
        "users",
        "entity('orders').where(entity('order-products').count() >= 1).count() >= 1",
    ),
    ("audience", "users", "entity('orders').count() >= 1 OR trait('VIP') = 'true'"),
    ("audience", "users", "entity('orders').where(property('total') > 500).count() >= 1"),
    ("trait", "users", "event('Shoes Bought').within(30 days).avg(property('spend'))"),
    (
        "trait",
        "users",
        "event('Shoes Bought').where( property('price') > 100 AND property('brand') = 'My Brand' )"
        ".min(property('spend'))",
    ),
    ("trait", "users", "event('Shoes Bought').within(30 days).first(property('spend'))"),
    ("trait", "users", "event('Shoes Bought').within(30 days).mode(property('spend'), 2)"),
    ("trait", "users", "event('Shoes Bought').count()"),
    (
        "audience",
        "users",
        """event('Product Added').where(
  NOT event('Order Completed')
        .where(property('product_id') = property(parent: 'product_id'))
        .within(parent: 1 day).count() >= 1
).within(7 days).count() >= 1""",
    ),
    (
        "audience",
        "users",
        """event('Session Started').between(30 days, 90 days).count() >= 1
  AND event('Session Started').within(30 days).count() = 0""",
    ),
    (
        "trait",
        "users",
        "event('Product Viewed').within(30 days).unique(property('category')).count()",
    ),
    ("trait", "users", "event('Page Viewed').expires_after(30 minutes).count()"),
    ("audience", "users", "trait('primaryEmail').exists()"),
    ("audience", "users", "trait('a') = 'true' OR trait('b') = 'true' OR trait('c') = 'true'"),
    (
        "audience",
        "users",
        "trait('predictive_vip_665') <= .20 AND event('Page Viewed').within(90 days).count() = 0",
    ),
    (
        "audience",
        "users",
        "event('Quote Generated').where(property('quote_id') = trait('quote_id')).count() >= 1",
    ),
    (
        "audience",
        "users",
        "event('Product Added').where(NOT event('Order Completed').within(parent: 30 days)"
        ".count() = 1).between(14 days, 30 days).count() >= 1",
    ),
    ("audience", "accounts", "ANY event('Audience Entered').within(30 days).count() >= 1"),
    ("audience", "users", "trait('j_o_flow__step_ghgzm') = 'true'"),
    ("audience", "users", "trait('email').contains('@')"),
    # §1.5 / §3.2 reference-table examples
    ("audience", "users", "trait('high_value_users') = 'true'"),
    (
        "audience",
        "users",
        "event('Page Viewed').where(context('page.url').contains('pricing')).count() >= 1",
    ),
    (
        "audience",
        "users",
        "event('X').where(context('timestamp').before_date('2023-08-25T02:00:00-07:00'))"
        ".count() >= 1",
    ),
    (
        "audience",
        "users",
        "event('X').sources({exclude: 'QgRHeujRJBM9j18yChyC', '/;hSBZDqGDPvXCKHbikPm'})"
        ".count() >= 1",
    ),
    ("trait", "users", "event('User Logged In').within(90 days).count()"),
    (
        "trait",
        "users",
        "event('Order Completed').where(property('category') = 'cosmetics').within(90 days)"
        ".sum(property('revenue'))",
    ),
    ("trait", "users", "event('X').max(property('spend') as string)"),
    ("trait", "users", "event('X').last(property('utm_campaign'))"),
    ("trait", "users", "event('X').unique(property('category'))"),
    ("trait", "accounts", "event('X').unique(property('ip')).count()"),
    ("audience", "users", "literal(2022-10-17T00:00:00) = trait('created')"),
]
