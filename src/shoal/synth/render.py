"""Turn the numeric event rows into Segment message columns and JSON Lines text.

Every text column is a ``take`` from a small pre-rendered dictionary (per product, page, user,
account or cart), so a chunk of rows costs a handful of vectorised Arrow kernels. All inserted
strings are generated ASCII without quotes or backslashes, which is what makes plain string
templates safe JSON here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from shoal.synth import catalog as cat
from shoal.synth import model as m
from shoal.synth.people import SERVER_CONTEXT, Accounts, People

COLUMNS = (
    "type", "messageId", "timestamp", "userId", "anonymousId", "event", "name", "category",
    "groupId", "previousId", "properties", "traits", "context", "integrations",
)  # fmt: skip
STRING_COLUMNS = tuple(c for c in COLUMNS if c != "timestamp")
KIND_TYPE = ("identify", "alias", "group", "page", "screen") + ("track",) * 7
KIND_EVENT = (None,) * 5 + (
    "Signed Up", "Logged In", "Product Viewed", "Product Added", "Checkout Started",
    "Order Completed", "Order Refunded",
)  # fmt: skip
SCHEMA = pa.schema(
    [
        pa.field(c, pa.timestamp("us", tz="UTC") if c == "timestamp" else pa.string())
        for c in COLUMNS
    ]
)
# A small share of messages name destinations explicitly, as real sources sometimes do.
INTEGRATIONS = '{"All":true,"Salesforce":false}'


def _masked(index: npt.NDArray[np.int64], mask: npt.NDArray[np.bool_]) -> pa.Array:
    return pa.array(index, type=pa.int64(), mask=~mask)


@dataclass(frozen=True)
class Dictionaries:
    """Pre-rendered text, concatenated so that each output column is a single ``take``."""

    n_users: int
    n_carts: int
    types: pa.Array
    events: pa.Array
    user_ids: pa.Array
    anon: pa.Array  # web ids, then app ids
    context: pa.Array  # web contexts, app contexts, then the server context
    traits: pa.Array  # user traits, then account traits
    group_ids: pa.Array
    names: pa.Array  # page names, then screen names
    categories: pa.Array
    props_offsets: dict[int, int]
    props: pa.Array


def _cart_text(world: m.World, tag: str, items: list[str]) -> tuple[list[str], list[str]]:
    item_text = pa.array(items).take(pa.array(world.cart_items))
    lists = pa.ListArray.from_arrays(pa.array(world.cart_offsets, type=pa.int32()), item_text)
    products = pc.binary_join(lists, ",").to_pylist()
    checkout: list[str] = []
    order: list[str] = []
    for c, (product_text, total) in enumerate(
        zip(products, world.cart_total.tolist(), strict=True)
    ):
        head = f'{{"order_id":"ord_{tag}_{c}",'
        tail = f',"currency":"USD","products":[{product_text}]}}'
        # Segment's e-commerce spec: Checkout Started has value/revenue, Order Completed total.
        checkout.append(f'{head}"value":{total:.2f},"revenue":{total:.2f}{tail}')
        order.append(f'{head}"total":{total:.2f},"revenue":{total:.2f}{tail}')
    return checkout, order


def build_dictionaries(
    world: m.World, people: People, accounts: Accounts, tag: str
) -> Dictionaries:
    products = cat.build_catalog()
    checkout, order = _cart_text(world, tag, products.line_items)
    totals = world.cart_total.tolist()
    refund = [
        f'{{"order_id":"ord_{tag}_{c}","total":{totals[c]:.2f},"currency":"USD","reason":"{r}"}}'
        for c in range(len(totals))
        for r in cat.REFUND_REASONS
    ]
    parts: dict[int, list[str]] = {
        m.PAGE: cat.page_properties(),
        m.SCREEN: cat.screen_properties(),
        m.SIGNED_UP: [f'{{"method":"{x}"}}' for x in cat.METHODS],
        m.LOGGED_IN: [f'{{"method":"{x}"}}' for x in cat.METHODS],
        m.VIEWED: products.event_props,
        m.CHECKOUT: checkout,
        m.ORDER: order,
        m.REFUND: refund,
    }
    parts[m.ADDED] = []  # shares the Product Viewed block (variants carry the quantity)
    offsets: dict[int, int] = {}
    flat: list[str] = []
    for kind, texts in parts.items():
        offsets[kind] = len(flat)
        flat.extend(texts)
    offsets[m.ADDED] = offsets[m.VIEWED]
    return Dictionaries(
        n_users=len(people.user_ids),
        n_carts=len(totals),
        types=pa.array(KIND_TYPE),
        events=pa.array(KIND_EVENT, type=pa.string()),
        user_ids=pa.array(people.user_ids),
        anon=pa.array(people.anon_web + people.anon_mobile),
        context=pa.array([*people.ctx_web, *people.ctx_mobile, SERVER_CONTEXT]),
        traits=pa.array(people.traits + accounts.traits),
        group_ids=pa.array(accounts.ids),
        names=pa.array([p[0] for p in cat.PAGES] + list(cat.SCREENS)),
        categories=pa.array([p[1] for p in cat.PAGES], type=pa.string()),
        props_offsets=offsets,
        props=pa.array(flat),
    )


def render_columns(
    ev: m.Events, lo: int, hi: int, d: Dictionaries, id_prefix: str
) -> dict[str, pa.Array]:
    """Columns for rows ``lo:hi`` (timestamp as ``timestamp[ms, UTC]``)."""
    kind = ev.kind[lo:hi]
    user = ev.user[lo:hi]
    mobile = ev.mobile[lo:hi]
    server = ev.server[lo:hi]
    a = ev.a[lo:hi]
    b = ev.b[lo:hi]
    n = d.n_users
    is_page, is_screen = kind == m.PAGE, kind == m.SCREEN
    is_group, is_identify, is_alias = kind == m.GROUP, kind == m.IDENTIFY, kind == m.ALIAS
    has_anon = ~server & ~is_alias
    off = np.array([d.props_offsets.get(k, 0) for k in range(m.N_KINDS)], dtype=np.int64)
    props_index = off[kind] + a
    props_index = np.where(
        (kind == m.VIEWED) | (kind == m.ADDED), props_index + b * cat.N_PRODUCTS, props_index
    )
    props_index = np.where(
        kind == m.REFUND, off[m.REFUND] + a * len(cat.REFUND_REASONS) + b, props_index
    )
    has_props = ~is_identify & ~is_group & ~is_alias
    rows = np.arange(lo, hi, dtype=np.int64)
    return {
        "type": d.types.take(pa.array(kind)),
        "messageId": pc.binary_join_element_wise(id_prefix, pa.array(rows).cast(pa.string()), ""),
        "timestamp": pa.array(ev.t[lo:hi]).cast(pa.timestamp("ms", tz="UTC")),
        "userId": d.user_ids.take(_masked(user, ev.ident[lo:hi])),
        "anonymousId": d.anon.take(_masked(user + n * mobile, has_anon)),
        "event": d.events.take(pa.array(kind)),
        "name": d.names.take(
            _masked(np.where(is_screen, len(cat.PAGES) + a, a), is_page | is_screen)
        ),
        "category": d.categories.take(_masked(a, is_page)),
        "groupId": d.group_ids.take(_masked(a, is_group)),
        "previousId": d.anon.take(_masked(user, is_alias)),
        "properties": d.props.take(_masked(props_index, has_props)),
        "traits": d.traits.take(_masked(np.where(is_group, n + a, user), is_identify | is_group)),
        "context": d.context.take(pa.array(np.where(server, 2 * n, user + n * mobile))),
        "integrations": _integrations(rows),
    }


def _integrations(rows: npt.NDArray[np.int64]) -> pa.Array:
    # Every 37th message: a fixed stride keeps the column deterministic without more randomness.
    mask = rows % 37 == 0
    return pa.array([INTEGRATIONS]).take(_masked(np.zeros(len(rows), dtype=np.int64), mask))


def jsonl_text(cols: dict[str, pa.Array]) -> memoryview:
    """The rows as JSON Lines bytes: one message object per line, absent fields left out."""
    ts = pc.strftime(cols["timestamp"], format="%Y-%m-%dT%H:%M:%SZ")
    pieces: list[pa.Array | str] = ['{"type":"', cols["type"], '","messageId":"', cols["messageId"],
                                    '","timestamp":"', ts, '"']  # fmt: skip
    # A null value makes its whole piece null, and nulls join as "": absent fields are omitted.
    pieces.extend(
        pc.binary_join_element_wise(f',"{key}":"', cols[key], '"', "")
        for key in ("userId", "anonymousId", "event", "name", "category", "groupId", "previousId")
    )
    pieces.extend(
        pc.binary_join_element_wise(f',"{key}":', cols[key], "")
        for key in ("properties", "traits", "context", "integrations")
    )
    pieces.append("}\n")
    lines = pc.binary_join_element_wise(*pieces, "", null_handling="replace")
    offsets = np.frombuffer(
        lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4
    )
    return memoryview(lines.buffers()[2])[int(offsets[0]) : int(offsets[-1])]
