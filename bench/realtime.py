"""Real-time engine benchmark (`python -m bench.realtime`): issue 6's `bench/realtime` item.

Over `shoal synth` data generated into a temporary directory, with 100 live definitions made
from templates over synth's own event names, properties and traits (every construct of the
language, each checked with ``compile_request`` and ordered with ``plan``):

1. sustained events/s through :class:`~shoal.engines.realtime.core.Core` in-process: the
   messages, decoded beforehand, applied one at a time in time order with
   ``core.apply([msg], msg.timestamp)`` as live traffic would be; baseline in the same run: the
   same stream through a core with no definitions (identity resolution and the live world only);
2. latency from event to change: the duration of each ``apply`` call, p50/p99 over the calls
   that produced a change (and over all calls);
3. state memory per profile after the replay: the deep size of the core (every object reachable
   from it, retained messages included) and the RSS growth, divided by profiles, next to the
   no-definition core, plus ``core.state_size()``;
4. backfill of one new definition over N stored events: a fresh core built with
   :func:`~shoal.engines.realtime.engine.replay`, fed in time-ordered chunks decoded from the
   Parquet file (10M messages do not fit in memory as Python objects at once); the no-definition
   core replays the same chunks as the baseline. Times at every million are kept, so a short run
   can be extrapolated (and is labelled as such).

It prints a markdown table and appends it, dated, with the machine and its load average, to
``bench/RESULTS.md``. ``--profile N`` prints a cProfile of the first N events of the live replay.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import heapq
import io
import itertools
import math
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import time
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import BuiltinFunctionType, FunctionType, ModuleType
from typing import Any

from bench.machine import machine
from shoal import gc_policy
from shoal.engines import Failure, Request, compile_request, plan
from shoal.engines.realtime.core import Core
from shoal.engines.realtime.engine import replay
from shoal.identity.resolve import message_order
from shoal.lang.check import references
from shoal.spec.importer import read_messages
from shoal.spec.message import Message
from shoal.synth import SynthConfig, write_file
from shoal.synth import catalog as cat

RESULTS = Path(__file__).with_name("RESULTS.md")
END = datetime(2026, 11, 1, tzinfo=UTC)
"""Fixed end of the generated data, so every run sees the same workload."""
MESSAGES_PER_USER_30D = 28.5
"""`shoal synth` makes about this many messages per user over 30 days (docs/synth.md)."""
TARGET_EVENTS_PER_S = 50_000
TARGET_P99_MS = 5.0
_TICK = timedelta(microseconds=1)
BACKFILL_KEY = "thendidnot_abandoned_cart_1h"
"""The "new definition" of the backfill: the issue's headline funnel (added to cart, no order
within an hour)."""


# -- the 100 definitions ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Spec:
    """One definition as a user would create it."""

    key: str
    query: str
    construct: str
    target: str = "users"
    include_anonymous: bool = False


def _day(at: datetime) -> str:
    return at.strftime("%Y-%m-%d")


def definitions(end: datetime = END) -> list[Spec]:
    """100 definitions over synth's events (docs/synth.md), every construct of the language.

    Names, properties, categories, plans, industries and methods come from
    :mod:`shoal.synth.catalog`, so the definitions match real messages; dates are relative to
    ``end`` (the data's last instant).
    """
    cats = [c for c, _, _ in cat.CATEGORIES]
    specs: list[Spec] = []

    def add(key: str, query: str, construct: str, **kw: Any) -> None:
        specs.append(Spec(key, " ".join(query.split()), construct, **kw))

    # counts over windows (audiences): 8
    for event, window, at_least in [
        ("Product Viewed", "1 day", 3),
        ("Product Viewed", "7 days", 10),
        ("Product Added", "7 days", 2),
        ("Page Viewed", "30 days", 20),
        ("Logged In", "30 days", 3),
        ("Checkout Started", "14 days", 1),
        ("Order Completed", "30 days", 2),
        ("Screen Viewed", "7 days", 3),
    ]:
        slug = event.lower().replace(" ", "_")
        add(
            f"count_{slug}_{window.split()[0]}d",
            f"event('{event}').within({window}).count() >= {at_least}",
            "count + within",
        )
    # computed traits: sum, avg, min/max (numeric and as string), count: 10
    add("ct_revenue_total", "event('Order Completed').sum(property('revenue'))", "sum")
    add("ct_revenue_30d", "event('Order Completed').within(30 days).sum(property('total'))", "sum")
    add("ct_avg_order", "event('Order Completed').avg(property('total'))", "avg")
    add("ct_avg_viewed_price", "event('Product Viewed').avg(property('price'))", "avg (coercion)")
    add(
        "ct_max_viewed_price",
        "event('Product Viewed').within(30 days).max(property('price'))",
        "max",
    )
    add(
        "ct_min_added_price",
        "event('Product Added').min(property('price') as number)",
        "min as number",
    )
    add(
        "ct_max_category",
        "event('Product Viewed').max(property('category') as string)",
        "max as string",
    )
    add(
        "ct_min_sku",
        "event('Product Added').within(14 days).min(property('sku') as string)",
        "min as string",
    )
    add("ct_orders_30d", "event('Order Completed').within(30 days).count()", "count trait")
    add("ct_refund_total", "event('Order Refunded').sum(property('total'))", "sum")
    # mode with a minimum frequency: 4
    add("ct_fav_category", "event('Product Viewed').mode(property('category'), 3)", "mode")
    add("ct_fav_page", "event('Page Viewed').within(30 days).mode(property('path'), 2)", "mode")
    add(
        "ct_usual_qty",
        "event('Product Added').mode(property('quantity') as number, 2)",
        "mode as number",
    )
    add(
        "ct_login_method",
        "event('Logged In').mode(property('method') as string, 1)",
        "mode as string",
    )
    # first / last: 5
    add("ct_first_path", "event('Page Viewed').first(property('path'))", "first")
    add("ct_last_product", "event('Product Viewed').last(property('product_id'))", "last")
    add("ct_last_timezone", "event('Page Viewed').last(context('timezone'))", "last (context)")
    add("ct_signup_method", "event('Signed Up').first(property('method'))", "first")
    add("ct_last_refund_reason", "event('Order Refunded').last(property('reason'))", "last")
    # unique / unique count: 3
    add("ct_categories", "event('Product Viewed').unique(property('category'))", "unique")
    add(
        "ct_category_count_30d",
        "event('Product Viewed').within(30 days).unique(property('category')).count()",
        "unique count",
    )
    add(
        "aud_browses_3_categories",
        "event('Product Viewed').within(7 days).unique(property('category')).count() >= 3",
        "unique count",
    )
    # where with property filters and coercions: 8 categories + 7 others = 15
    for c, median, _ in cat.CATEGORIES:
        # Half again the category's median price: "viewed an expensive one" for every category.
        floor = int(median * 1.5)
        add(
            f"where_{c.lower()}_over_{floor}",
            f"event('Product Viewed').where(property('category') = '{c}' "
            f"AND property('price') >= {floor}).within(30 days).count() >= 1",
            "where + coercion (price sometimes a numeric string)",
        )
    add(
        "where_price_string_compare",
        "event('Product Added').where(property('price') > '50').count() >= 2",
        "where, number vs numeric-string literal",
    )
    add(
        "where_bulk_add",
        "event('Product Added').where(property('quantity') >= 2).within(30 days).count() >= 1",
        "where",
    )
    add(
        "where_big_order",
        "event('Order Completed').where(property('total') > 250 "
        "AND property('currency') = 'USD').count() >= 1",
        "where",
    )
    add(
        "where_pricing_visitor",
        "event('Page Viewed').where(property('path').one_of('/pricing', '/docs')).within(7 days)"
        ".count() >= 2",
        "where one_of",
    )
    add(
        "where_ios_app",
        "event('Screen Viewed').where(context('device.type') = 'ios').count() >= 1",
        "where on context",
    )
    add(
        "where_refund_reason",
        "event('Order Refunded').where(property('reason').none_of('changed mind', 'late delivery'))"
        ".count() >= 1",
        "where none_of",
    )
    add(
        "where_product_page",
        "event('Page Viewed').where(property('path').starts_with('/p') "
        "AND property('title').contains('Shop')).within(1 day).count() >= 2",
        "where starts_with/contains",
    )
    # between windows: 3
    add(
        "between_lapsing_login",
        "event('Logged In').between(7 days, 30 days).count() >= 1 "
        "AND event('Logged In').within(7 days).count() = 0",
        "between",
    )
    add(
        "between_bought_before",
        "event('Order Completed').between(14 days, 60 days).count() >= 1 "
        "AND NOT event('Order Completed').within(14 days).count() >= 1",
        "between",
    )
    add(
        "ct_views_last_week_prior",
        "event('Product Viewed').between(7 days, 14 days).count()",
        "between (trait)",
    )
    # expires_after sessions: 3
    add(
        "ct_session_pages",
        "event('Page Viewed').expires_after(30 minutes).count()",
        "expires_after",
    )
    add(
        "ct_session_categories",
        "event('Product Viewed').expires_after(1 hour).unique(property('category')).count()",
        "expires_after",
    )
    add(
        "ct_session_cart_value",
        "event('Product Added').expires_after(2 hours).sum(property('price'))",
        "expires_after",
    )
    # funnels with within(parent:) and parent property references: 5 categories + 2 = 7
    for c in cats[:5]:
        add(
            f"funnel_{c.lower()}_view_to_add",
            f"event('Product Viewed').where(property('category') = '{c}').within(7 days)"
            ".where(event('Product Added')"
            ".where(property('product_id') = property(parent: 'product_id'))"
            ".within(parent: 1 hour).count() >= 1).count() >= 1",
            "funnel: within(parent:), parent property",
        )
    add(
        "funnel_checkout_to_order",
        "event('Checkout Started').within(30 days).where(event('Order Completed')"
        ".where(property('order_id') = property(parent: 'order_id'))"
        ".within(parent: 1 hour).count() >= 1).count() >= 2",
        "funnel: within(parent:), parent property",
    )
    add(
        "funnel_signup_then_order",
        "event('Signed Up').where(event('Order Completed').between(parent: 0 days, 7 days)"
        ".count() >= 1).count() >= 1",
        "funnel: between(parent:)",
    )
    # "then did not" (count = 0 on a nested stream): 6
    add(
        BACKFILL_KEY,
        "event('Product Added').within(7 days).where(event('Order Completed')"
        ".within(parent: 1 hour).count() = 0).count() >= 1",
        "then did not",
    )
    add(
        "thendidnot_viewed_100_no_buy",
        "event('Product Viewed').where(property('price') >= 100).within(7 days)"
        ".where(event('Order Completed').within(parent: 1 day).count() = 0).count() >= 1",
        "then did not",
    )
    add(
        "thendidnot_checkout_abandoned",
        "event('Checkout Started').within(14 days).where(event('Order Completed')"
        ".where(property('order_id') = property(parent: 'order_id'))"
        ".within(parent: 2 hours).count() = 0).count() >= 1",
        "then did not + parent property",
    )
    add(
        "thendidnot_signup_no_login",
        "event('Signed Up').within(30 days).where(event('Logged In')"
        ".within(parent: 7 days).count() = 0).count() >= 1",
        "then did not",
    )
    add(
        "thendidnot_order_no_refund",
        "event('Order Completed').within(30 days).where(event('Order Refunded')"
        ".where(property('order_id') = property(parent: 'order_id'))"
        ".within(parent: 14 days).count() = 0).count() >= 3",
        "then did not + parent property",
    )
    add(
        "thendidnot_added_no_checkout",
        "event('Product Added').within(3 days).where(event('Checkout Started')"
        ".within(parent: 1 day).count() = 0).count() >= 2",
        "then did not",
    )
    # trait comparisons and date comparators: 10
    for plan_name in cat.USER_PLANS:
        add(f"trait_plan_{plan_name}", f"trait('plan') = '{plan_name}'", "trait comparison")
    add("trait_email_domain", "trait('email').ends_with('example.com')", "trait ends_with")
    add("date_new_user_30d", "trait('created_at').within_last(30 days)", "date within_last")
    add("date_old_user_1y", "trait('created_at').before_last(365 days)", "date before_last")
    add(
        "date_created_after",
        f"trait('created_at').after_date('{_day(end - timedelta(days=20))}')",
        "date after_date",
    )
    add(
        "date_created_before",
        f"trait('created_at').before_date({_day(end - timedelta(days=400))}) "
        "AND trait('plan').one_of('business', 'enterprise')",
        "date before_date + one_of",
    )
    add(
        "date_recent_login",
        "event('Logged In').last(context('timestamp')).within_last(3 days)",
        "date on a reducer",
    )
    # audiences on computed traits: 6
    add("oncomputed_big_spender", "trait('ct_revenue_total') >= 500", "audience on computed trait")
    add("oncomputed_fav_shoes", "trait('ct_fav_category') = 'Shoes'", "audience on computed trait")
    add(
        "oncomputed_active_pro",
        "trait('ct_orders_30d') >= 2 AND trait('plan') = 'pro'",
        "audience on computed trait",
    )
    add(
        "oncomputed_order_above_avg",
        "event('Order Completed').where(property('total') > trait('ct_avg_order')).within(30 days)"
        ".count() >= 1",
        "computed trait inside where",
    )
    add(
        "oncomputed_many_categories",
        "trait('ct_category_count_30d') >= 4",
        "audience on computed trait",
    )
    add(
        "ct_spend_vs_avg",
        "event('Order Completed').where(property('total') >= trait('ct_avg_order')).count()",
        "computed trait reading a computed trait",
    )
    # audiences of audiences: 5
    add(
        "ofaud_big_not_recent",
        "trait('oncomputed_big_spender') = 'true' "
        "AND NOT trait('count_order_completed_30d') = 'true'",
        "audience of audiences",
    )
    add(
        "ofaud_lapsed_buyer",
        "trait('count_order_completed_30d') = 'false'",
        "audience of audience (former member)",
    )
    add(
        "ofaud_never_checkout",
        "trait('count_checkout_started_14d').absent() AND trait('plan').exists()",
        "audience of audience (never member)",
    )
    add(
        "ofaud_abandoner_pro",
        f"trait('{BACKFILL_KEY}') = 'true' AND trait('trait_plan_pro') = 'true'",
        "audience of audiences",
    )
    add(
        "ofaud_chain",
        "trait('ofaud_big_not_recent') = 'true' OR trait('ofaud_abandoner_pro') = 'true'",
        "audience of audiences of audiences",
    )
    # ACCOUNTS: ANY/ALL, account traits, account computed traits: 11
    acct = {"target": "accounts"}
    add(
        "acct_any_recent_order_enterprise",
        "ANY event('Order Completed').within(30 days).count() >= 1 "
        "AND trait('plan') = 'enterprise'",
        "accounts ANY + account trait",
        **acct,
    )
    add(
        "acct_all_quiet_30d",
        "ALL NOT event('Logged In').within(30 days).count() >= 1",
        "accounts ALL NOT",
        **acct,
    )
    add(
        "acct_big_company",
        "trait('employees') >= 100",
        "account trait (coercion: employees sometimes a string)",
        **acct,
    )
    for industry in cat.INDUSTRIES[:3]:
        add(
            f"acct_{industry.lower()}_pro_user",
            f"trait('industry') = '{industry}' AND ANY trait('plan').one_of('pro', 'business')",
            "account trait + ANY user trait",
            **acct,
        )
    add(
        "acct_any_big_spender",
        "ANY trait('oncomputed_big_spender') = 'true'",
        "account audience of a user audience",
        **acct,
    )
    add(
        "acct_all_identified",
        "ALL trait('email').exists()",
        "accounts ALL",
        **acct,
    )
    add(
        "acct_ct_revenue",
        "event('Order Completed').within(30 days).sum(property('revenue'))",
        "account computed trait",
        **acct,
    )
    add(
        "acct_on_revenue",
        "trait('acct_ct_revenue') >= 1000 AND trait('createdAt').before_last(365 days)",
        "account audience on account trait + date",
        **acct,
    )
    add(
        "acct_ct_active_users_7d",
        "event('Logged In').within(7 days).count()",
        "account computed trait",
        **acct,
    )
    # include-anonymous: 4
    anon = {"include_anonymous": True}
    add(
        "anon_browsed_3_1d",
        "event('Product Viewed').within(1 day).count() >= 3",
        "include anonymous",
        **anon,
    )
    add(
        "anon_pricing_page",
        "event('Page Viewed').where(property('path') = '/pricing').within(7 days).count() >= 1",
        "include anonymous",
        **anon,
    )
    add(
        "anon_cart_no_checkout",
        "event('Product Added').within(1 day).count() >= 1 "
        "AND event('Checkout Started').within(1 day).count() = 0",
        "include anonymous",
        **anon,
    )
    add(
        "anon_ct_pages_7d",
        "event('Page Viewed').within(7 days).count()",
        "include anonymous (trait)",
        **anon,
    )
    return specs


def compile_all(specs: Sequence[Spec]) -> list[Request]:
    """Every spec through ``compile_request``, in ``plan`` order; any failure is a bug here."""
    compiled: list[Request] = []
    for spec in specs:
        request = compile_request(
            spec.key,
            spec.query,
            target=spec.target,  # type: ignore[arg-type]
            include_anonymous=spec.include_anonymous,
        )
        if isinstance(request, Failure):
            raise ValueError(f"{spec.key}: {request.code}: {request.message}\n  {spec.query}")
        compiled.append(request)
    ordered, failures = plan(compiled)
    if failures:
        raise ValueError(f"plan failed: {failures}")
    return ordered


def with_dependencies(requests: Sequence[Request], key: str) -> list[Request]:
    """``key`` and every definition it reads, transitively, in plan order."""
    by_name = {r.name: r for r in requests}
    wanted: set[str] = set()
    todo = [key]
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(references(by_name[name].definition) & by_name.keys())
    return [r for r in requests if r.name in wanted]


# -- data ------------------------------------------------------------------------------------------
def synth_parquet(directory: Path, events: int, *, days: int = 30, seed: int = 1) -> Path:
    """A `shoal synth` Parquet file with at least ``events`` messages (about 28.5 per user)."""
    users = max(1, math.ceil(events / MESSAGES_PER_USER_30D * 30 / days * 1.05))
    path = directory / f"synth-{users}u-{days}d.parquet"
    if not path.exists():
        write_file(SynthConfig(users, days, seed, END), path)
    return path


def load(path: Path, limit: int | None = None) -> list[Message]:
    """The first ``limit`` messages of the file (a prefix in time), in SEMANTICS order."""
    messages = list(itertools.islice(read_messages(path, received_at=END), limit))
    messages.sort(key=message_order)
    return messages


def chunked(messages: Iterable[Message], size: int) -> Iterator[list[Message]]:
    """Time-ordered chunks that never split one instant (so replay sees each instant whole)."""
    chunk: list[Message] = []
    for msg in messages:
        if len(chunk) >= size and msg.timestamp != chunk[-1].timestamp:
            yield chunk
            chunk = []
        chunk.append(msg)
    if chunk:
        yield chunk


# -- measuring -------------------------------------------------------------------------------------
def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


_SKIP = (type, ModuleType, FunctionType, BuiltinFunctionType)


def deep_size(root: object, *, skip: tuple[type, ...] = ()) -> tuple[int, int]:
    """(bytes, objects) of everything reachable from ``root`` (classes, modules, functions and
    instances of ``skip`` excluded): what dropping it would free, shared objects counted once."""
    stop = (*_SKIP, *skip)
    seen: set[int] = set()
    todo = [root]
    total = 0
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, stop):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        todo.extend(gc.get_referents(obj))
    return total, len(seen)


def percentile(sorted_values: Sequence[int], q: float) -> float:
    if not sorted_values:
        return math.nan
    return float(sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))])


@dataclass
class Live:
    """One replay of the live stream through one core."""

    label: str
    events: int
    seconds: float
    second_half_seconds: float
    changes: int
    latencies_ns: array[int]
    """Per apply call."""
    changed_ns: array[int]
    """Per apply call that produced at least one change."""
    state: dict[str, int]
    deep_bytes: int
    deep_objects: int
    own_bytes: int
    """Deep size without the retained messages (they are the stored events themselves)."""
    rss_growth: int
    kinds: Counter[str] = field(default_factory=Counter)
    slowest: list[str] = field(default_factory=list)
    """The slowest apply calls: time, message, changes produced."""
    timer_heap: int = 0
    """Entries in the core's timer heap, superseded ones included (not in ``state_size``)."""
    nonempty: int = 0
    empty: list[str] = field(default_factory=list)
    core: Core | None = None

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else math.inf

    @property
    def second_half_rate(self) -> float:
        half = self.events - self.events // 2
        return half / self.second_half_seconds if self.second_half_seconds else math.inf

    def ms(self, which: str, q: float) -> float:
        values = self.changed_ns if which == "changed" else self.latencies_ns
        return percentile(sorted(values), q) / 1e6


def live(label: str, messages: Sequence[Message], requests: Sequence[Request]) -> Live:
    """Apply ``messages`` one at a time, as live traffic, timing every call."""
    gc.collect()
    rss_before = rss_bytes()
    core = Core(requests)
    latencies = array("q")
    changed = array("q")
    produced = array("q")
    kinds: Counter[str] = Counter()
    n_changes = 0
    half = len(messages) // 2
    clock = time.perf_counter_ns
    started = clock()
    mid = started
    for i, msg in enumerate(messages):
        if i == half:
            mid = clock()
        t0 = clock()
        out = core.apply([msg], msg.timestamp)
        t1 = clock()
        latencies.append(t1 - t0)
        produced.append(len(out))
        if out:
            changed.append(t1 - t0)
            n_changes += len(out)
            for change in out:
                kinds[change.kind] += 1
    finished = clock()
    gc.collect()
    rss_growth = rss_bytes() - rss_before - 8 * (2 * len(latencies) + len(changed))
    deep, objects = deep_size(core)
    own, _ = deep_size(core, skip=(Message,))
    result = Live(
        label=label,
        events=len(messages),
        seconds=(finished - started) / 1e9,
        second_half_seconds=(finished - mid) / 1e9,
        changes=n_changes,
        latencies_ns=latencies,
        changed_ns=changed,
        state=core.state_size(),
        deep_bytes=deep,
        deep_objects=objects,
        own_bytes=own,
        rss_growth=rss_growth,
        kinds=kinds,
        core=core,
        timer_heap=len(getattr(core, "_timers", ())),
    )
    for i in heapq.nlargest(5, range(len(latencies)), key=latencies.__getitem__):
        msg = messages[i]
        what = f"{msg.type} '{msg.event_name}'" if msg.event_name else msg.type
        result.slowest.append(f"{latencies[i] / 1e6:,.0f} ms ({what}, {produced[i]:,} changes)")
    for key, values in core.results.items():
        if values or core.ever.get(key):
            result.nonempty += 1
        else:
            result.empty.append(key)
    return result


@dataclass
class Backfill:
    key: str
    events: int
    decode_seconds: float
    replay_seconds: float
    baseline_seconds: float
    checkpoints: list[tuple[int, float, float]]
    """(events so far, replay seconds so far, baseline seconds so far) at every million."""
    state: dict[str, int]
    results: int
    bulk_seconds: float | None = None
    """``Core.backfill`` (the bulk path of the compute service) over the same events."""
    bulk_agrees: bool | None = None
    """Whether the bulk core's result for ``key`` equals the replayed one."""

    @property
    def rate(self) -> float:
        return self.events / self.replay_seconds

    def at_10m(self) -> float:
        return 10_000_000 / self.rate


def _last_timestamp(path: Path, events: int) -> datetime:
    import pyarrow.parquet as pq

    column = pq.read_table(path, columns=["timestamp"]).column("timestamp")
    last: datetime = column[min(events, len(column)) - 1].as_py()
    return last


def backfill(path: Path, requests: Sequence[Request], key: str, events: int) -> Backfill:
    """Fresh cores for ``key`` (and what it reads) over the first ``events`` stored messages,
    decoded once in time-ordered chunks: one built with ``replay`` chunk by chunk, the baseline
    (no definitions) replaying the same chunks, and, when the core has it, one built with
    ``Core.backfill`` fed the same messages as a stream (its time is the wall time of that call
    minus the decoding and the two replays, which run inside the stream it pulls from)."""
    wanted = with_dependencies(requests, key)
    core = Core(wanted)
    baseline = Core([])
    bulk = Core(wanted) if hasattr(Core, "backfill") else None
    timing = {"decode": 0.0, "replay": 0.0, "base": 0.0}
    checkpoints: list[tuple[int, float, float]] = []
    done = 0

    def feed() -> Iterator[Message]:
        nonlocal done
        stream = itertools.islice(read_messages(path, received_at=END), events)
        chunks = chunked(stream, 20_000)
        next_mark = 1_000_000
        while True:
            t0 = time.perf_counter()
            chunk = next(chunks, None)
            t1 = time.perf_counter()
            timing["decode"] += t1 - t0
            if chunk is None:
                return
            until = chunk[-1].timestamp
            replay(chunk, core, until=until)
            t2 = time.perf_counter()
            replay(chunk, baseline, until=until)
            t3 = time.perf_counter()
            timing["replay"] += t2 - t1
            timing["base"] += t3 - t2
            done += len(chunk)
            if done >= next_mark:
                checkpoints.append((done, timing["replay"], timing["base"]))
                next_mark += 1_000_000
            yield from chunk

    bulk_seconds: float | None = None
    agrees: bool | None = None
    if bulk is not None:
        started = time.perf_counter()
        bulk.backfill(feed(), _last_timestamp(path, events))
        bulk_seconds = time.perf_counter() - started - sum(timing.values())
        agrees = bulk.results.get(key) == core.results.get(key)
    else:
        for _ in feed():
            pass
    return Backfill(
        key=key,
        events=done,
        decode_seconds=timing["decode"],
        replay_seconds=timing["replay"],
        baseline_seconds=timing["base"],
        checkpoints=checkpoints,
        state=core.state_size(),
        results=sum(len(v) for v in core.results.values()),
        bulk_seconds=bulk_seconds,
        bulk_agrees=agrees,
    )


class _CostedCore(Core):
    """A core that times each evaluation by definition, and whether a timer caused it
    (diagnostics for ``--profile`` only: it relies on the core's private methods)."""

    def __init__(self, requests: Sequence[Request]) -> None:
        super().__init__(requests)
        self.cost: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self.timer_calls = 0
        self.timer_seconds = 0.0
        self._timer_depth = 0

    def reset(self) -> None:
        self.cost.clear()
        self.calls.clear()
        self.timer_calls = 0
        self.timer_seconds = 0.0

    def advance(self, until: datetime) -> list[Any]:
        self._timer_depth += 1
        try:
            return super().advance(until)
        finally:
            self._timer_depth -= 1

    def _evaluate(self, unit: Any, entity: str, now: datetime) -> Any:
        started = time.perf_counter()
        try:
            return super()._evaluate(unit, entity, now)
        finally:
            spent = time.perf_counter() - started
            self.cost[unit.request.name] += spent
            self.calls[unit.request.name] += 1
            if self._timer_depth:
                self.timer_calls += 1
                self.timer_seconds += spent


def profile_live(
    messages: Sequence[Message], requests: Sequence[Request], n: int, top: int = 15
) -> str:
    """Where the live replay spends its time, in steady state: the stream up to its last ``2n``
    messages is applied unmeasured, then ``n`` messages with per-definition evaluation costs,
    then ``n`` under cProfile (top functions by cumulative and by self time)."""
    n = max(1, min(n, len(messages) // 2))
    core = _CostedCore(requests)
    for msg in messages[: len(messages) - 2 * n]:
        core.apply([msg], msg.timestamp)
    core.reset()
    costed = messages[len(messages) - 2 * n : len(messages) - n]
    # The same work as apply([msg]) alone (its first step is exactly this advance), timed in two
    # parts: the timers that fell due since the previous message, then the message itself.
    timer_ns: list[int] = []
    message_ns: list[int] = []
    clock = time.perf_counter_ns
    started = time.perf_counter()
    for msg in costed:
        t0 = clock()
        fired = core.advance(msg.timestamp - _TICK)
        t1 = clock()
        changes = core.apply([msg], msg.timestamp)
        t2 = clock()
        if fired:
            timer_ns.append(t1 - t0)
        if changes:
            message_ns.append(t2 - t1)
    wall = time.perf_counter() - started
    out = io.StringIO()
    timer_ns.sort()
    message_ns.sort()
    print(
        f"latency split: the message's own changes p50 {percentile(message_ns, 0.5) / 1e6:.2f} "
        f"ms, p99 {percentile(message_ns, 0.99) / 1e6:.2f} ms ({len(message_ns):,} calls); "
        f"timers due before it p50 {percentile(timer_ns, 0.5) / 1e6:.2f} ms, p99 "
        f"{percentile(timer_ns, 0.99) / 1e6:.2f} ms ({len(timer_ns):,} calls with changes)",
        file=out,
    )
    calls = sum(core.calls.values())
    spent = sum(core.cost.values())
    print(
        f"steady state, {len(costed):,} events after {len(messages) - 2 * n:,}: {calls:,} "
        f"evaluations ({calls / len(costed):.1f} per event), {spent / wall:.0%} of the replay "
        f"time; fired by timers: {core.timer_calls:,} ({core.timer_seconds / spent:.0%} of "
        "evaluation time)",
        file=out,
    )
    print("costliest definitions (share of evaluation time, evaluations, µs each):", file=out)
    for key, cost in sorted(core.cost.items(), key=lambda kv: -kv[1])[:top]:
        count = core.calls[key]
        print(f"  {key:40} {cost / spent:6.1%} {count:9,} {cost / count * 1e6:9.1f}", file=out)
    profiler = cProfile.Profile()
    profiler.enable()
    for msg in messages[len(messages) - n :]:
        core.apply([msg], msg.timestamp)
    profiler.disable()
    print(f"cProfile of the last {n:,} events:", file=out)
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


# -- report ----------------------------------------------------------------------------------------
_ENGINE_SOURCES = (
    "src/shoal/engines/realtime",
    "src/shoal/engines/__init__.py",
    "src/shoal/engines/reference.py",
    "src/shoal/engines/universe.py",
    "src/shoal/engines/values.py",
    "src/shoal/identity",
    "src/shoal/lang",
    "src/shoal/spec",
)
"""What the measured code path runs (``git status`` of these decides "uncommitted changes")."""


def revision() -> str:
    """The commit measured, and whether the engine sources differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", *_ENGINE_SOURCES],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown revision"
    return f"commit {head}" + (" with uncommitted engine changes" if dirty else "")


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _ratio(a: float, b: float) -> str:
    """a / b, or n/a when the baseline is too small to divide by (RSS noise)."""
    return f"{a / b:.2f}" if b > 0 and abs(b) > 0.01 * abs(a) else "n/a"


def report(
    args: argparse.Namespace,
    specs: Sequence[Spec],
    full: Live,
    base: Live,
    fill: Backfill | None,
    load_start: str,
) -> str:
    profiles = max(1, full.state["profiles"])
    users_in = f"{args.users:,} users x {args.days} days"
    rows = [
        "| measure | Shoal (100 definitions) | baseline, same run | ratio | target | vs target |",
        "|---|---:|---:|---:|---:|---:|",
        f"| sustained events/s, one apply per message | {_n(full.rate)} | {_n(base.rate)} "
        f"(no definitions: identity + live world) | {full.rate / base.rate:.3f} "
        f"| ≥ {_n(TARGET_EVENTS_PER_S)} | {full.rate / TARGET_EVENTS_PER_S:.3f} |",
        f"| ... second half of the stream only | {_n(full.second_half_rate)} "
        f"| {_n(base.second_half_rate)} | {full.second_half_rate / base.second_half_rate:.3f} "
        f"| ≥ {_n(TARGET_EVENTS_PER_S)} | {full.second_half_rate / TARGET_EVENTS_PER_S:.3f} |",
        f"| event → change latency p50, ms (apply calls with a change: {len(full.changed_ns):,}) "
        f"| {full.ms('changed', 0.5):.3f} | {base.ms('all', 0.5):.3f} (any apply) "
        f"| {full.ms('changed', 0.5) / base.ms('all', 0.5):.1f} | | |",
        f"| event → change latency p99, ms | {full.ms('changed', 0.99):.3f} "
        f"| {base.ms('all', 0.99):.3f} (any apply) "
        f"| {full.ms('changed', 0.99) / base.ms('all', 0.99):.1f} | ≤ {TARGET_P99_MS:g} "
        f"| {full.ms('changed', 0.99) / TARGET_P99_MS:.2f} |",
        f"| any apply call p50 / p99 / max, ms | {full.ms('all', 0.5):.3f} / "
        f"{full.ms('all', 0.99):.3f} / {max(full.latencies_ns) / 1e6:.1f} "
        f"| {base.ms('all', 0.5):.3f} / {base.ms('all', 0.99):.3f} / "
        f"{max(base.latencies_ns) / 1e6:.1f} | | | |",
        f"| state per profile, deep size of the core incl. retained messages (bytes) "
        f"| {_n(full.deep_bytes / profiles)} | {_n(base.deep_bytes / profiles)} "
        f"| {full.deep_bytes / base.deep_bytes:.2f} | | |",
        f"| state per profile, deep size without the messages (bytes) "
        f"| {_n(full.own_bytes / profiles)} | {_n(base.own_bytes / profiles)} "
        f"| {full.own_bytes / base.own_bytes:.2f} | | |",
        f"| state per profile, RSS growth over the replay (bytes) "
        f"| {_n(full.rss_growth / profiles)} | {_n(base.rss_growth / profiles)} "
        f"| {_ratio(full.rss_growth, base.rss_growth)} | | |",
    ]
    if fill is not None:
        measured = fill.events >= 10_000_000
        label = "measured" if measured else f"**extrapolated** linearly from {fill.events:,}"
        base_rate = fill.events / fill.baseline_seconds
        rows += [
            f"| backfill `{fill.key}`: replay of {fill.events:,} stored events, s "
            f"| {fill.replay_seconds:,.1f} ({_n(fill.rate)} events/s) "
            f"| {fill.baseline_seconds:,.1f} ({_n(base_rate)} events/s) "
            f"| {fill.replay_seconds / fill.baseline_seconds:.2f} | | |",
            f"| backfill over 10M stored events, s ({label}) | {fill.at_10m():,.0f} "
            f"| {10_000_000 / base_rate:,.0f} | {fill.replay_seconds / fill.baseline_seconds:.2f} "
            "| | |",
        ]
        if fill.bulk_seconds is not None:
            rows.append(
                f"| backfill with `Core.backfill` (bulk: state first, evaluated once at the end) "
                f"over the same {fill.events:,} events, s | {fill.bulk_seconds:,.1f} "
                f"({_n(fill.events / fill.bulk_seconds)} events/s; same result as the replay: "
                f"{fill.bulk_agrees}) | {fill.baseline_seconds:,.1f} "
                f"| {fill.bulk_seconds / fill.baseline_seconds:.2f} | | |"
            )
        rows += [
            f"| reading + validating 10M stored events from Parquet ({label}), s | "
            f"{fill.decode_seconds * 10_000_000 / fill.events:,.0f} "
            f"({_n(fill.events / fill.decode_seconds)} events/s) | | | | |",
        ]
    constructs = sorted({s.construct.split(" (")[0] for s in specs})
    lines = [
        f"## Real-time engine — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {machine()}",
        "",
        f"`python -m bench.realtime {' '.join(args.argv)}`".replace(" `", "`")
        + f" at {args.revision}.",
        "",
        f"Load average (1/5/15 min) at the start {load_start}, at the end {load_average()}. "
        f"Live stream: `shoal synth` {users_in}, {full.events:,} messages in time order, "
        f"{len(specs)} definitions ({sum(s.target == 'accounts' for s in specs)} ACCOUNTS, "
        f"{sum(s.include_anonymous for s in specs)} include-anonymous) → "
        f"{full.changes:,} changes ({dict(full.kinds)}); {full.nonempty} of {len(specs)} "
        "definitions have members or values after the replay"
        + (f" (empty: {', '.join(full.empty)})" if full.empty else "")
        + ".",
        "",
        *rows,
        "",
        f"State after the live replay: {full.state} (no definitions: {base.state}); deep size "
        f"{full.deep_bytes / 1e6:,.1f} MB over {full.deep_objects:,} objects, retained messages "
        f"included; timer heap {full.timer_heap:,} entries (superseded ones included). Slowest "
        f"apply calls: {'; '.join(full.slowest)}.",
    ]
    if fill is not None:
        marks = ", ".join(
            f"{n / 1e6:.0f}M: {r:,.0f} s ({b:,.0f} s)" for n, r, b in fill.checkpoints
        )
        lines += [
            "",
            f"Backfill: a fresh core for `{fill.key}` (and what it reads), built with `replay()` "
            f"over the first {fill.events:,} messages of a synth file, fed in time-ordered "
            "chunks of 20,000 decoded from Parquet (decoding not in the replay time); baseline: "
            "the same chunks through a core with no definitions. "
            + (f"Cumulative replay time (baseline) at {marks}. " if marks else "")
            + f"State at the end: {fill.state}.",
        ]
    lines += ["", f"Constructs covered: {', '.join(constructs)}.", ""]
    return "\n".join(lines)


def append_results(path: Path, text: str) -> None:
    with path.open("a") as handle:
        handle.write("\n" + text)


# -- main ------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, help="users in the live stream [1,000; full 10,000]")
    parser.add_argument("--days", type=int, default=30, help="days of history [30]")
    parser.add_argument(
        "--backfill-events", type=int, help="stored events for the backfill [300k; full 10M]"
    )
    parser.add_argument("--backfill-key", default=BACKFILL_KEY, help="the new definition")
    parser.add_argument("--full", action="store_true", help="the issue's sizes (long)")
    parser.add_argument("--profile", type=int, default=0, help="profile N events in steady state")
    parser.add_argument("--results", type=Path, default=RESULTS, help="markdown file to append")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    args.users = args.users or (10_000 if args.full else 1_000)
    if args.backfill_events is None:
        args.backfill_events = 10_000_000 if args.full else 300_000
    # The collector policy of `shoal serve` (and every shoal command), for the baseline too.
    gc_policy.configure()
    load_start = load_average()
    args.revision = revision()
    specs = definitions()
    requests = compile_all(specs)
    print(f"{len(requests)} definitions compiled and planned", flush=True)
    fill: Backfill | None = None
    with tempfile.TemporaryDirectory(prefix="shoal-bench-rt-") as name:
        tmp = Path(name)
        live_path = tmp / "live.parquet"
        write_file(SynthConfig(args.users, args.days, 3, END), live_path)
        messages = load(live_path)
        print(f"live stream: {len(messages):,} messages decoded", flush=True)
        base = live("no definitions", messages, [])
        print(f"baseline: {base.rate:,.0f} events/s", flush=True)
        full = live("100 definitions", messages, requests)
        print(f"100 definitions: {full.rate:,.0f} events/s", flush=True)
        if args.profile:
            print(profile_live(messages, requests, args.profile), flush=True)
        base.core = full.core = None
        del messages
        gc.collect()
        if args.backfill_events:
            path = synth_parquet(tmp, args.backfill_events)
            print(f"backfill data: {path.name}", flush=True)
            fill = backfill(path, requests, args.backfill_key, args.backfill_events)
    text = report(args, specs, full, base, fill, load_start)
    print(text)
    if not args.no_record:
        append_results(args.results, text)
    return {"live": full, "baseline": base, "backfill": fill, "specs": specs, "report": text}


if __name__ == "__main__":
    # A plain SIGTERM would skip the temporary directory's clean-up; exit through Python instead.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    main()
