"""The behaviour model: users -> sessions -> events, all as numpy arrays.

Nothing here loops per event: counts are drawn per user or session and expanded with
``np.repeat``, so generation time grows with the number of events at numpy speed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shoal.synth import catalog as cat

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DAY = 86_400_000
HOUR = 3_600_000

# Event kinds, in the order of KIND_TYPE / KIND_EVENT in render.py.
IDENTIFY, ALIAS, GROUP, PAGE, SCREEN, SIGNED_UP, LOGGED_IN = range(7)
VIEWED, ADDED, CHECKOUT, ORDER, REFUND = range(7, 12)
N_KINDS = 12

# User segments.
ANONYMOUS, NEW_SIGNUP, EXISTING = 0, 1, 2


@dataclass
class Events:
    """One row per message, sorted by time. ``a``/``b`` mean different things per kind."""

    t: IntArray  # epoch milliseconds
    kind: IntArray
    user: IntArray
    mobile: BoolArray  # sent by the mobile app (screen calls, device context)
    server: BoolArray  # sent from the backend (orders, refunds): userId only
    ident: BoolArray  # carries userId
    a: IntArray  # page/screen index, product, cart, account or method
    b: IntArray  # Product Viewed/Added props variant; reason for refunds


@dataclass
class World:
    events: Events
    created_ms: IntArray
    user_plan: IntArray
    n_accounts: int
    cart_items: IntArray  # line-item index (qty-1)*N_PRODUCTS + product, grouped by cart
    cart_offsets: IntArray  # cart c owns cart_items[cart_offsets[c]:cart_offsets[c+1]]
    cart_total: npt.NDArray[np.float64]


def _segment_starts(group: IntArray) -> IntArray:
    if len(group) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, group[1:] != group[:-1]])


def simulate(users: int, days: int, end_ms: int, rng: np.random.Generator) -> World:
    start_ms = end_ms - days * DAY
    span = end_ms - start_ms
    n = users
    products = cat.build_catalog()

    # --- users ---------------------------------------------------------------------------
    segment = rng.choice(3, size=n, p=[0.25, 0.25, 0.5])
    identified = segment != ANONYMOUS
    first = np.where(
        segment == EXISTING, start_ms, start_ms + (rng.random(n) * span * 0.95).astype(np.int64)
    )
    created = np.where(
        segment == EXISTING, start_ms - rng.integers(DAY, 700 * DAY, size=n), first
    ).astype(np.int64)
    user_plan = rng.choice(len(cat.USER_PLANS), size=n, p=cat.USER_PLAN_WEIGHTS)
    favourite = rng.integers(len(cat.CATEGORIES), size=n)
    big_spender = identified & (rng.random(n) < 0.05)
    buy = np.clip(rng.lognormal(0.0, 0.4, n) * np.where(big_spender, 2.0, 1.0), 0.2, 2.5)

    # --- accounts: power-law sizes, a few users in several ------------------------------
    n_accounts = max(3, n // 30)
    member = identified & (rng.random(n) < 0.35)
    primary = (n_accounts * rng.random(n) ** 2).astype(np.int64)
    at_risk = rng.random(n_accounts) < 0.15
    extra = member & (rng.random(n) < 0.08)
    two_extra = extra & (rng.random(n) < 0.3)
    offset1 = rng.integers(1, n_accounts, size=n)
    offset2 = offset1 % (n_accounts - 1) + 1  # differs from offset1 since n_accounts >= 3
    m_user = np.concatenate(
        [np.flatnonzero(member), np.flatnonzero(extra), np.flatnonzero(two_extra)]
    )
    m_acct = np.concatenate(
        [
            primary[member],
            (primary + offset1)[extra] % n_accounts,
            (primary + offset2)[two_extra] % n_accounts,
        ]
    )

    # --- activity window: some users churn part-way. At-risk accounts go quiet as a whole:
    # their primary members stop at one account-wide date, so "no member active lately"
    # account audiences have matches.
    churned = rng.random(n) < 0.2
    stop = np.where(
        churned, first + ((0.1 + 0.5 * rng.random(n)) * (end_ms - first)).astype(np.int64), end_ms
    )
    quiet_from = start_ms + ((0.15 + 0.45 * rng.random(n_accounts)) * span).astype(np.int64)
    risky = member & at_risk[primary]
    first = np.where(
        risky, np.maximum(start_ms, np.minimum(first, quiet_from[primary] - DAY)), first
    )
    stop = np.where(risky, np.maximum(first + HOUR, quiet_from[primary]), stop)
    created = np.where(segment == NEW_SIGNUP, first, created)
    rate = np.minimum(3.0, rng.lognormal(np.log(0.15), 0.9, n))
    rate = np.where(identified, rate, rate * 0.25)
    n_sess = np.minimum(150, 1 + rng.poisson(rate * (stop - first) / DAY)).astype(np.int64)
    k_id = np.minimum(rng.choice(3, size=n, p=[0.5, 0.3, 0.2]), n_sess - 1)
    k_id = np.where(identified, k_id, n_sess)  # never reached: anonymous all along
    has_app = identified & (rng.random(n) < 0.2)
    aliased = identified & (rng.random(n) < 0.03)

    # --- sessions --------------------------------------------------------------------------
    n_s = int(n_sess.sum())
    s_user = np.repeat(np.arange(n, dtype=np.int64), n_sess)
    lo = first[s_user]
    hi = np.maximum(lo + 1, stop[s_user] - 2 * HOUR)  # room for the session to finish
    s_t = lo + (rng.random(n_s) * (hi - lo)).astype(np.int64)
    s_t = s_t[np.lexsort((s_t, s_user))]
    u_first_sess = np.r_[0, np.cumsum(n_sess)[:-1]].astype(np.int64)
    rank = np.arange(n_s, dtype=np.int64) - u_first_sess[s_user]
    s_ident = rank >= k_id[s_user]
    s_idsess = rank == k_id[s_user]
    s_mobile = has_app[s_user] & (rank > k_id[s_user]) & (rng.random(n_s) < 0.5)

    blocks: list[tuple[IntArray, int, IntArray, IntArray, IntArray]] = []

    def add(sess: IntArray, phase: int, kind: int | IntArray, a: IntArray, b: IntArray) -> None:
        kinds = np.broadcast_to(np.asarray(kind, dtype=np.int64), sess.shape)
        blocks.append((sess, phase, kinds, a, b))

    zeros = np.zeros(n_s, dtype=np.int64)
    # Identify session: identify, alias, Signed Up / Logged In, one group call per account.
    idsess = np.flatnonzero(s_idsess)
    add(idsess, 0, IDENTIFY, zeros[idsess], zeros[idsess])
    al = idsess[aliased[s_user[idsess]]]
    add(al, 1, ALIAS, zeros[al], zeros[al])
    first_kind = np.where(segment[s_user[idsess]] == NEW_SIGNUP, SIGNED_UP, LOGGED_IN)
    methods = rng.integers(len(cat.METHODS), size=len(idsess))
    add(idsess, 2, first_kind, methods, zeros[idsess])
    g_sess = u_first_sess[m_user] + k_id[m_user]
    add(g_sess, 3, GROUP, m_acct, np.zeros(len(g_sess), dtype=np.int64))
    # Returning users log in on some later web sessions.
    later = np.flatnonzero(s_ident & ~s_idsess & ~s_mobile & (rng.random(n_s) < 0.25))
    add(later, 2, LOGGED_IN, rng.integers(len(cat.METHODS), size=len(later)), zeros[later])

    # Browsing: pages (web) or screens (app), interleaved with product views.
    n_pg = 1 + rng.poisson(1.8, n_s)
    pg_sess = np.repeat(np.arange(n_s, dtype=np.int64), n_pg)
    pg_mobile = s_mobile[pg_sess]
    page = rng.choice(len(cat.PAGES), size=len(pg_sess), p=cat.PAGE_WEIGHTS)
    screen = rng.choice(len(cat.SCREENS), size=len(pg_sess), p=cat.SCREEN_WEIGHTS)
    add(
        pg_sess,
        4,
        np.where(pg_mobile, SCREEN, PAGE),
        np.where(pg_mobile, screen, page),
        0 * pg_sess,
    )
    n_v = rng.poisson(1.4 * buy[s_user])
    v_sess = np.repeat(np.arange(n_s, dtype=np.int64), n_v)
    v_user = s_user[v_sess]
    v_cat = np.where(
        rng.random(len(v_sess)) < 0.6,
        favourite[v_user],
        rng.integers(len(cat.CATEGORIES), size=len(v_sess)),
    )
    # Popular products get more views: squaring a uniform skews towards low indices.
    v_prod = v_cat * cat.PER_CATEGORY + (cat.PER_CATEGORY * rng.random(len(v_sess)) ** 2).astype(
        np.int64
    )
    # A small share of price values arrive as numeric strings, to exercise coercion.
    v_strprice = rng.random(len(v_sess)) < 0.03
    add(v_sess, 4, VIEWED, v_prod, v_strprice.astype(np.int64) * (cat.MAX_QTY + 1))

    # Carts: some viewed products are added; sessions with adds may check out and order.
    added = rng.random(len(v_sess)) < np.minimum(0.9, 0.3 * buy[v_user])
    ad_sess, ad_prod = v_sess[added], v_prod[added]
    qty = 1 + (rng.random(len(ad_sess)) < 0.2) + (rng.random(len(ad_sess)) < 0.05)
    qty = np.minimum(cat.MAX_QTY, qty + big_spender[s_user[ad_sess]]).astype(np.int64)
    add(ad_sess, 5, ADDED, ad_prod, qty + v_strprice[added] * (cat.MAX_QTY + 1))
    n_add = np.bincount(ad_sess, minlength=n_s)
    checkout = (n_add > 0) & (rng.random(n_s) < 0.65)
    ordered = checkout & s_ident & (rng.random(n_s) < np.minimum(0.95, 0.8 * buy[s_user]))
    cart_of_sess = np.cumsum(checkout) - 1
    in_cart = checkout[ad_sess]
    cart_items = (qty[in_cart] - 1) * cat.N_PRODUCTS + ad_prod[in_cart]
    cart_offsets = np.r_[0, np.cumsum(n_add[checkout])].astype(np.int64)
    line_total = products.price[ad_prod[in_cart]] * qty[in_cart]
    cart_total = np.round(
        np.add.reduceat(line_total, cart_offsets[:-1]) if len(line_total) else line_total, 2
    )
    co = np.flatnonzero(checkout)
    add(co, 6, CHECKOUT, cart_of_sess[co], zeros[co])
    od = np.flatnonzero(ordered)
    add(od, 7, ORDER, cart_of_sess[od], zeros[od])

    # --- order rows within sessions, then time them ------------------------------------------
    sess = np.concatenate([blk[0] for blk in blocks])
    phase = np.concatenate([np.full(len(blk[0]), blk[1]) for blk in blocks])
    kind = np.concatenate([blk[2] for blk in blocks])
    a = np.concatenate([blk[3] for blk in blocks])
    b = np.concatenate([blk[4] for blk in blocks])
    shuffle = rng.random(len(sess))  # interleaves pages and views inside the browsing phase
    order = np.lexsort((shuffle, phase, sess))
    sess, kind, a, b = sess[order], kind[order], a[order], b[order]
    gaps = 1000 + rng.exponential(40_000, len(sess)).astype(np.int64)
    csum = np.cumsum(gaps)
    starts = _segment_starts(sess)
    counts = np.diff(np.r_[starts, len(sess)])
    t = s_t[sess] + csum - np.repeat(csum[starts] - gaps[starts], counts)

    # Refunds come days later from the backend.
    o_rows = np.flatnonzero(kind == ORDER)
    refunded = o_rows[rng.random(len(o_rows)) < 0.06]
    r_t = t[refunded] + rng.integers(DAY, 14 * DAY, size=len(refunded))
    r_reason = rng.integers(len(cat.REFUND_REASONS), size=len(refunded))
    t = np.concatenate([t, r_t])
    sess = np.concatenate([sess, sess[refunded]])
    kind = np.concatenate([kind, np.full(len(refunded), REFUND)])
    a = np.concatenate([a, a[refunded]])
    b = np.concatenate([b, r_reason])

    keep = t < end_ms
    by_time = np.argsort(t[keep], kind="stable")
    t, sess, kind, a, b = (x[keep][by_time] for x in (t, sess, kind, a, b))
    server = (kind == ORDER) | (kind == REFUND)
    events = Events(
        t=t,
        kind=kind,
        user=s_user[sess],
        mobile=s_mobile[sess] & ~server,
        server=server,
        ident=s_ident[sess],
        a=a,
        b=b,
    )
    return World(events, created, user_plan, n_accounts, cart_items, cart_offsets, cart_total)
