"""Per-user and per-account text: ids, identify/group traits and client contexts.

These are built once per person (O(users)), so plain Python string formatting is fast enough;
per-event text is then a `take` from these arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from shoal.synth import catalog as cat

IntArray = npt.NDArray[np.int64]

WEB_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
)
TIMEZONES = ("America/New_York", "America/Los_Angeles", "Europe/London", "Europe/Berlin",
             "Asia/Tokyo", "Australia/Sydney")  # fmt: skip
LOCALES = ("en-US", "en-US", "en-GB", "de-DE", "ja-JP", "en-AU")
SERVER_CONTEXT = '{"library":{"name":"analytics-python","version":"2.3.2"}}'


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _uuid(hi: int, lo: int) -> str:
    h = f"{hi:016x}{lo:016x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


@dataclass(frozen=True)
class People:
    user_ids: list[str]
    anon_web: list[str]
    anon_mobile: list[str]
    traits: list[str]
    ctx_web: list[str]
    ctx_mobile: list[str]


@dataclass(frozen=True)
class Accounts:
    ids: list[str]
    traits: list[str]


def build_people(
    rng: np.random.Generator, tag: str, created_ms: IntArray, plan: IntArray
) -> People:
    n = len(created_ms)
    ids = rng.integers(0, 2**63, size=(n, 4), dtype=np.int64).tolist()
    first = rng.integers(len(cat.FIRST_NAMES), size=n).tolist()
    last = rng.integers(len(cat.LAST_NAMES), size=n).tolist()
    domain = rng.integers(len(cat.EMAIL_DOMAINS), size=n).tolist()
    agent = rng.integers(len(WEB_AGENTS), size=n).tolist()
    zone = rng.integers(len(TIMEZONES), size=n).tolist()
    ip = rng.integers(1, 255, size=(n, 3)).tolist()
    android = (rng.random(n) < 0.45).tolist()
    plans = plan.tolist()
    created = created_ms.tolist()
    user_ids: list[str] = []
    anon_web: list[str] = []
    anon_mobile: list[str] = []
    traits: list[str] = []
    ctx_web: list[str] = []
    ctx_mobile: list[str] = []
    for u in range(n):
        # The tag keeps user ids of different runs apart when two files land in one space.
        user_ids.append(f"user_{tag}_{u}")
        anon_web.append(_uuid(ids[u][0], ids[u][1]))
        anon_mobile.append(_uuid(ids[u][2], ids[u][3]))
        fn, ln = cat.FIRST_NAMES[first[u]], cat.LAST_NAMES[last[u]]
        traits.append(
            f'{{"email":"{fn.lower()}.{ln.lower()}{u}@{cat.EMAIL_DOMAINS[domain[u]]}",'
            f'"name":"{fn} {ln}","firstName":"{fn}","lastName":"{ln}",'
            f'"plan":"{cat.USER_PLANS[plans[u]]}","created_at":"{iso_ms(created[u])}"}}'
        )
        z = zone[u]
        ctx_web.append(
            '{"library":{"name":"analytics.js","version":"next-1.70.0"},'
            f'"ip":"10.{ip[u][0]}.{ip[u][1]}.{ip[u][2]}","locale":"{LOCALES[z]}",'
            f'"timezone":"{TIMEZONES[z]}","userAgent":"{WEB_AGENTS[agent[u]]}"}}'
        )
        # The advertising id is per device but is not the SDK's anonymousId.
        ad_id = _uuid(ids[u][2] ^ ids[u][1], ids[u][3] ^ ids[u][0])
        if android[u]:
            device = (
                '"library":{"name":"analytics-android","version":"4.11.3"},'
                '"device":{"type":"android","manufacturer":"Google","model":"Pixel 8",'
                f'"advertisingId":"{ad_id}","adTrackingEnabled":true}},'
                '"os":{"name":"Android","version":"14"}'
            )
        else:
            device = (
                '"library":{"name":"analytics-ios","version":"4.1.8"},'
                '"device":{"type":"ios","manufacturer":"Apple","model":"iPhone15,2",'
                f'"advertisingId":"{ad_id}","adTrackingEnabled":true}},'
                '"os":{"name":"iOS","version":"17.4"}'
            )
        ctx_mobile.append(
            f'{{{device},"app":{{"name":"Shoal Shop","version":"3.2.1","build":"321"}},'
            f'"locale":"{LOCALES[z]}","timezone":"{TIMEZONES[z]}"}}'
        )
    return People(user_ids, anon_web, anon_mobile, traits, ctx_web, ctx_mobile)


def build_accounts(rng: np.random.Generator, tag: str, count: int, start_ms: int) -> Accounts:
    plan = rng.choice(len(cat.USER_PLANS), size=count, p=cat.ACCOUNT_PLAN_WEIGHTS).tolist()
    industry = rng.integers(len(cat.INDUSTRIES), size=count).tolist()
    word = rng.integers(len(cat.COMPANY_WORDS), size=count).tolist()
    suffix = rng.integers(len(cat.COMPANY_SUFFIXES), size=count).tolist()
    size = rng.lognormal(3.0, 1.3, size=count)
    age_days = rng.integers(30, 2000, size=count).tolist()
    # A few CRMs send employee counts as text; keep some to exercise numeric coercion.
    as_text = (rng.random(count) < 0.05).tolist()
    ids: list[str] = []
    traits: list[str] = []
    for a in range(count):
        # Bigger plans go with bigger companies, so plan and employees correlate as in life.
        employees = max(1, int(size[a] * (1 + 4 * plan[a])))
        shown = f'"{employees}"' if as_text[a] else str(employees)
        created = start_ms - age_days[a] * 86_400_000
        ids.append(f"acct_{tag}_{a}")
        traits.append(
            f'{{"name":"{cat.COMPANY_WORDS[word[a]]} {cat.COMPANY_SUFFIXES[suffix[a]]} {a}",'
            f'"plan":"{cat.USER_PLANS[plan[a]]}","industry":"{cat.INDUSTRIES[industry[a]]}",'
            f'"employees":{shown},"createdAt":"{iso_ms(created)}"}}'
        )
    return Accounts(ids, traits)
