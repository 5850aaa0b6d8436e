"""The definitions `bench.batch` runs: product use cases, each with a hand-written DuckDB query.

Each :class:`BatchCase` pairs a Shoal definition (checked by ``shoal check``) with the query a
data engineer would write for the same question over *typed* tables:

- ``typed_events(event_id, profile_id, ts, event_name, price, category, product_id, revenue)``:
  the events with the properties the cases read as DOUBLE / VARCHAR columns;
- ``typed_accounts(group_id, plan)``; ``shoal_profiles`` and ``shoal_links`` as they are.

Hand-written queries return ``entity_id`` (audiences: the members) or ``entity_id, value``
(traits: profiles with a value). ``{now}``, ``{d7}``, ``{d30}``, ``{d90}`` are the as-of instant
and that many days before it, as TIMESTAMP literals. Event names and properties are those
``shoal synth`` generates (docs/synth.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CASES", "TYPED_TABLES", "BatchCase"]

Compare = Literal["members", "number", "text", "time"]


@dataclass(frozen=True, slots=True)
class BatchCase:
    name: str
    question: str
    query: str
    hand: str
    compare: Compare
    target: Literal["users", "accounts"] = "users"
    kind: Literal["audience", "trait"] = "audience"


USERS = "JOIN shoal_profiles AS u USING (profile_id) WHERE u.is_user"

CASES: tuple[BatchCase, ...] = (
    BatchCase(
        "viewed_over_100_no_order",
        "viewed a product over $100 in the last 30 days but did not buy",
        "event('Product Viewed').where(property('price') > 100).within(30 days).count() >= 1"
        " AND event('Order Completed').within(30 days).count() = 0",
        """SELECT u.profile_id AS entity_id FROM shoal_profiles AS u WHERE u.is_user
           AND u.profile_id IN (SELECT profile_id FROM typed_events
               WHERE event_name = 'Product Viewed' AND price > 100 AND ts BETWEEN {d30} AND {now})
           AND u.profile_id NOT IN (SELECT profile_id FROM typed_events
               WHERE event_name = 'Order Completed' AND ts BETWEEN {d30} AND {now})""",
        "members",
    ),
    BatchCase(
        "lapsed_30_90",
        "viewed pages 30-90 days ago but not in the last 30 days",
        "event('Page Viewed').between(30 days, 90 days).count() >= 1"
        " AND event('Page Viewed').within(30 days).count() = 0",
        f"""SELECT profile_id AS entity_id FROM typed_events {USERS}
           AND event_name = 'Page Viewed' AND ts BETWEEN {{d90}} AND {{now}}
           GROUP BY profile_id
           HAVING count(*) FILTER (WHERE ts <= {{d30}}) > 0
              AND count(*) FILTER (WHERE ts >= {{d30}}) = 0""",
        "members",
    ),
    BatchCase(
        "total_spent",
        "lifetime revenue (sum computed trait)",
        "event('Order Completed').sum(property('revenue'))",
        f"""SELECT profile_id AS entity_id, sum(revenue) AS value FROM typed_events {USERS}
           AND event_name = 'Order Completed' AND ts <= {{now}} AND revenue IS NOT NULL
           GROUP BY profile_id""",
        "number",
        kind="trait",
    ),
    BatchCase(
        "big_spenders",
        "big spenders: audience on the total_spent computed trait (>= $500)",
        "trait('total_spent') >= 500",
        f"""SELECT profile_id AS entity_id FROM typed_events {USERS}
           AND event_name = 'Order Completed' AND ts <= {{now}}
           GROUP BY profile_id HAVING sum(revenue) >= 500""",
        "members",
    ),
    BatchCase(
        "checkout_no_order_7d",
        "began checkout in the last week without completing an order",
        "event('Checkout Started').within(7 days).count() >= 1"
        " AND event('Order Completed').within(7 days).count() = 0",
        """SELECT u.profile_id AS entity_id FROM shoal_profiles AS u WHERE u.is_user
           AND u.profile_id IN (SELECT profile_id FROM typed_events
               WHERE event_name = 'Checkout Started' AND ts BETWEEN {d7} AND {now})
           AND u.profile_id NOT IN (SELECT profile_id FROM typed_events
               WHERE event_name = 'Order Completed' AND ts BETWEEN {d7} AND {now})""",
        "members",
    ),
    BatchCase(
        "abandoned_same_product_1d",
        "viewed a product over $100 and did not add that same product within a day (funnel)",
        "event('Product Viewed').within(30 days).where(property('price') > 100"
        " AND event('Product Added').within(parent: 1 day)"
        ".where(property('product_id') = property(parent: 'product_id')).count() = 0)"
        ".count() >= 1",
        """SELECT DISTINCT v.profile_id AS entity_id FROM typed_events AS v
           JOIN shoal_profiles AS u USING (profile_id)
           WHERE u.is_user AND v.event_name = 'Product Viewed' AND v.price > 100
             AND v.ts BETWEEN {d30} AND {now}
             AND NOT EXISTS (SELECT 1 FROM typed_events AS a
                 WHERE a.profile_id = v.profile_id AND a.event_name = 'Product Added'
                   AND a.product_id = v.product_id AND a.event_id <> v.event_id
                   AND a.ts >= v.ts AND a.ts <= v.ts + INTERVAL 1 DAY AND a.ts <= {now})""",
        "members",
    ),
    BatchCase(
        "at_risk_business_accounts",
        "business accounts where no user viewed a page or screen in 30 days (ALL NOT)",
        "trait('plan') = 'business' AND ALL NOT (event('Page Viewed').within(30 days).count() >= 1"
        " OR event('Screen Viewed').within(30 days).count() >= 1)",
        """SELECT a.group_id AS entity_id FROM typed_accounts AS a WHERE a.plan = 'business'
           AND EXISTS (SELECT 1 FROM shoal_links AS l WHERE l.group_id = a.group_id)
           AND NOT EXISTS (SELECT 1 FROM shoal_links AS l JOIN typed_events AS e USING (profile_id)
               WHERE l.group_id = a.group_id AND e.event_name IN ('Page Viewed', 'Screen Viewed')
                 AND e.ts BETWEEN {d30} AND {now})""",
        "members",
        target="accounts",
    ),
    BatchCase(
        "accounts_recent_order",
        "accounts where any user completed an order in the last week (ANY)",
        "ANY event('Order Completed').within(7 days).count() >= 1",
        """SELECT DISTINCT l.group_id AS entity_id FROM shoal_links AS l
           JOIN typed_events AS e USING (profile_id)
           WHERE e.event_name = 'Order Completed' AND e.ts BETWEEN {d7} AND {now}""",
        "members",
        target="accounts",
    ),
    BatchCase(
        "favourite_category",
        "most frequently viewed category (mode)",
        "event('Product Viewed').mode(property('category'), 1)",
        f"""SELECT profile_id AS entity_id, category AS value FROM (
               SELECT profile_id, category, count(*) AS c FROM typed_events {USERS}
               AND event_name = 'Product Viewed' AND ts <= {{now}} AND category IS NOT NULL
               GROUP BY ALL)
           QUALIFY row_number() OVER (PARTITION BY profile_id ORDER BY c DESC, category) = 1""",
        "text",
        kind="trait",
    ),
    BatchCase(
        "category_count",
        "number of distinct categories viewed (unique count)",
        "event('Product Viewed').unique(property('category')).count()",
        """SELECT u.profile_id AS entity_id, coalesce(c.n, 0) AS value FROM shoal_profiles AS u
           LEFT JOIN (SELECT profile_id, count(DISTINCT category) AS n FROM typed_events
               WHERE event_name = 'Product Viewed' AND ts <= {now} GROUP BY profile_id) AS c
           USING (profile_id) WHERE u.is_user""",
        "number",
        kind="trait",
    ),
    BatchCase(
        "last_seen",
        "when the user last viewed a page (last computed trait)",
        "event('Page Viewed').last(context('timestamp'))",
        f"""SELECT profile_id AS entity_id, max(ts) AS value FROM typed_events {USERS}
           AND event_name = 'Page Viewed' AND ts <= {{now}} GROUP BY profile_id""",
        "time",
        kind="trait",
    ),
    BatchCase(
        "avg_order_value_90d",
        "average order revenue over 90 days (avg computed trait)",
        "event('Order Completed').within(90 days).avg(property('revenue'))",
        f"""SELECT profile_id AS entity_id, avg(revenue) AS value FROM typed_events {USERS}
           AND event_name = 'Order Completed' AND ts BETWEEN {{d90}} AND {{now}}
           AND revenue IS NOT NULL GROUP BY profile_id""",
        "number",
        kind="trait",
    ),
    BatchCase(
        "repeat_buyers_30d",
        "two or more orders of $100+ in the last 30 days",
        "event('Order Completed').where(property('revenue') >= 100).within(30 days).count() >= 2",
        f"""SELECT profile_id AS entity_id FROM typed_events {USERS}
           AND event_name = 'Order Completed' AND revenue >= 100 AND ts BETWEEN {{d30}} AND {{now}}
           GROUP BY profile_id HAVING count(*) >= 2""",
        "members",
    ),
)

TYPED_TABLES = (
    """CREATE OR REPLACE TABLE typed_events AS
       SELECT event_id, profile_id, ts, event_name,
              TRY_CAST(json_extract_string(properties, '$.price') AS DOUBLE) AS price,
              json_extract_string(properties, '$.category') AS category,
              json_extract_string(properties, '$.product_id') AS product_id,
              TRY_CAST(json_extract_string(properties, '$.revenue') AS DOUBLE) AS revenue
       FROM shoal_events""",
    """CREATE OR REPLACE TABLE typed_accounts AS
       SELECT group_id, json_extract_string(traits, '$.plan') AS plan FROM shoal_accounts""",
)
"""The hand-written world: what a warehouse table with typed columns would hold (ETL, untimed)."""
