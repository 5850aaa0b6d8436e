"""Fixed reference data: products, pages, screens, names, industries.

The catalog is drawn from its own constant seed, not the run's seed, so a product id means the
same product (name, category, price) in every generated file; audiences written against one
dataset keep their meaning on another.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# (category, median price in dollars, nouns). Medians either side of $100 so "viewed a product
# over $100" audiences have both matches and non-matches.
CATEGORIES: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("Shoes", 85.0, ("Runner", "Sneaker", "Boot", "Loafer", "Sandal")),
    ("Apparel", 40.0, ("Hoodie", "Jacket", "Tee", "Chino", "Dress")),
    ("Electronics", 180.0, ("Headphones", "Speaker", "Tablet", "Camera", "Watch")),
    ("Home", 60.0, ("Lamp", "Kettle", "Blanket", "Vase", "Chair")),
    ("Beauty", 25.0, ("Serum", "Cleanser", "Balm", "Mask", "Perfume")),
    ("Books", 18.0, ("Novel", "Cookbook", "Atlas", "Memoir", "Guide")),
    ("Sports", 70.0, ("Racket", "Yoga Mat", "Bike Helmet", "Dumbbell", "Backpack")),
    ("Toys", 30.0, ("Puzzle", "Robot Kit", "Plush", "Board Game", "Kite")),
)
ADJECTIVES = (
    "Classic",
    "Ultra",
    "Eco",
    "Pro",
    "Urban",
    "Nordic",
    "Vintage",
    "Smart",
    "Cozy",
    "Aero",
)
PER_CATEGORY = 60
N_PRODUCTS = PER_CATEGORY * len(CATEGORIES)
MAX_QTY = 3

# Web pages: (name, category or None, path). Index order matters only for the weights below.
PAGES: tuple[tuple[str, str | None, str], ...] = (
    ("Home", None, "/"),
    ("Category", "Catalog", "/c/all"),
    ("Search", "Catalog", "/search"),
    ("Product", "Catalog", "/p"),
    ("Cart", "Checkout", "/cart"),
    ("Checkout", "Checkout", "/checkout"),
    ("Pricing", "Marketing", "/pricing"),
    ("Blog", "Marketing", "/blog"),
    ("Docs", "Support", "/docs"),
    ("Account", "Account", "/account"),
)
PAGE_WEIGHTS = (0.22, 0.16, 0.1, 0.2, 0.07, 0.03, 0.06, 0.07, 0.05, 0.04)
SCREENS = ("Home", "Search", "Product Detail", "Cart", "Checkout", "Account", "Orders")
SCREEN_WEIGHTS = (0.25, 0.15, 0.3, 0.1, 0.05, 0.08, 0.07)
SITE = "https://shop.example.com"

FIRST_NAMES = (
    "Ada", "Ben", "Chloe", "Dev", "Elif", "Femi", "Grace", "Hugo", "Ines", "Jon", "Kai", "Lena",
    "Malik", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera", "Wen", "Yuki",
)  # fmt: skip
LAST_NAMES = (
    "Alvarez", "Brown", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
    "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Patel", "Rossi", "Silva", "Tanaka",
    "Weber",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "mail.example.org", "corp.example.net", "inbox.example.io")
USER_PLANS = ("free", "pro", "business", "enterprise")
USER_PLAN_WEIGHTS = (0.55, 0.3, 0.12, 0.03)
ACCOUNT_PLAN_WEIGHTS = (0.35, 0.35, 0.22, 0.08)
INDUSTRIES = ("Retail", "Software", "Healthcare", "Finance", "Education", "Logistics", "Media")
COMPANY_WORDS = (
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent",
    "Tyrell", "Cyberdyne", "Wonka", "Gringotts", "Oceanic", "Aperture",
)  # fmt: skip
COMPANY_SUFFIXES = ("Inc", "LLC", "GmbH", "Ltd", "Labs", "Group", "Co")
METHODS = ("email", "google", "apple", "sso")
REFUND_REASONS = ("damaged", "wrong size", "not as described", "changed mind", "late delivery")


@dataclass(frozen=True)
class Catalog:
    """Products as parallel arrays plus their pre-rendered JSON fragments."""

    price: npt.NDArray[np.float64]
    category: npt.NDArray[np.int64]
    # (variant, product) -> JSON text; variant 0 = Product Viewed, 1..MAX_QTY = Product Added with
    # that quantity; the second half repeats them with the price as a numeric string.
    event_props: list[str]
    # (qty - 1, product) -> one element of an order's `products` array.
    line_items: list[str]


def _fmt_price(value: float) -> str:
    return f"{value:.2f}"


def build_catalog() -> Catalog:
    rng = np.random.default_rng(7)
    prices: list[float] = []
    categories: list[int] = []
    heads: list[str] = []
    for cat_index, (cat, median, nouns) in enumerate(CATEGORIES):
        raw = rng.lognormal(np.log(median), 0.55, PER_CATEGORY)
        for i in range(PER_CATEGORY):
            # Shop prices end in .99 (and never drop below $4.99).
            price = float(max(4, int(raw[i]))) + 0.99
            pid = cat_index * PER_CATEGORY + i
            name = f"{ADJECTIVES[int(rng.integers(len(ADJECTIVES)))]} {nouns[i % len(nouns)]}"
            prices.append(price)
            categories.append(cat_index)
            heads.append(
                f'{{"product_id":"prod_{pid:04d}","sku":"{cat[:3].upper()}-{pid:05d}",'
                f'"name":"{name}","category":"{cat}",'
            )
    event_props: list[str] = []
    for as_string in (False, True):
        for qty in range(MAX_QTY + 1):
            for head, price in zip(heads, prices, strict=True):
                shown = f'"{_fmt_price(price)}"' if as_string else _fmt_price(price)
                tail = "}" if qty == 0 else f',"quantity":{qty}}}'
                event_props.append(f'{head}"price":{shown}{tail}')
    line_items = [
        f'{head}"price":{_fmt_price(price)},"quantity":{qty}}}'
        for qty in range(1, MAX_QTY + 1)
        for head, price in zip(heads, prices, strict=True)
    ]
    return Catalog(
        price=np.array(prices),
        category=np.array(categories, dtype=np.int64),
        event_props=event_props,
        line_items=line_items,
    )


def page_properties() -> list[str]:
    return [
        f'{{"url":"{SITE}{path}","path":"{path}","title":"{name} | Shoal Shop"}}'
        for name, _, path in PAGES
    ]


def screen_properties() -> list[str]:
    return [f'{{"name":"{name}"}}' for name in SCREENS]
