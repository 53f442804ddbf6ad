"""The demo catalog the local stack seeds: 6 categories, 48 products, each with an image
(drawn at seed time by ``infra.local.demo_images`` and stored in the images bucket)."""

from __future__ import annotations

CATEGORIES: list[tuple[str, str]] = [
    ("coffee", "Coffee"),
    ("tea", "Tea"),
    ("kitchen", "Kitchen"),
    ("books", "Books"),
    ("apparel", "Apparel"),
    ("outdoor", "Outdoor"),
]

_PRODUCTS: dict[str, list[tuple[str, int]]] = {
    "coffee": [
        ("Ethiopia Yirgacheffe Whole Beans", 1650), ("Colombia Huila Ground Coffee", 1390),
        ("House Espresso Blend", 1490), ("Decaf Swiss Water Beans", 1550),
        ("Cold Brew Coarse Grind", 1290), ("Guatemala Antigua Beans", 1590),
        ("Sumatra Dark Roast", 1450), ("Kenya AA Light Roast", 1790),
    ],
    "tea": [
        ("Darjeeling First Flush", 1250), ("Sencha Green Tea", 990), ("Earl Grey Supreme", 890),
        ("Chamomile Herbal Infusion", 690), ("Oolong Milk Tea", 1190), ("Masala Chai Loose Leaf", 790),
        ("Jasmine Pearls", 1490), ("Rooibos Vanilla", 750),
    ],
    "kitchen": [
        ("Pour Over Dripper", 2400), ("Gooseneck Kettle", 5900), ("Burr Coffee Grinder", 12900),
        ("French Press 1L", 3400), ("Ceramic Mug Set", 2800), ("Glass Teapot with Infuser", 3100),
        ("Digital Coffee Scale", 2700), ("Milk Frother", 1900),
    ],
    "books": [
        ("The World Atlas of Coffee", 3200), ("Tea: History and Rituals", 2500),
        ("Home Barista Handbook", 2100), ("Baking with Coffee", 1900),
        ("The Little Book of Tea", 1200), ("Roasting at Home", 2300),
        ("Cafe Stories", 1600), ("Brewing Science Explained", 2900),
    ],
    "apparel": [
        ("Barista Apron Canvas", 3500), ("Coffee Lover T-Shirt", 2200), ("Tea Time Hoodie", 4800),
        ("Roaster Cap", 1800), ("Espresso Socks", 900), ("Canvas Tote Bag", 1500),
        ("Organic Cotton Tee", 2400), ("Wool Beanie", 1900),
    ],
    "outdoor": [
        ("Insulated Travel Mug", 2600), ("Camping Percolator", 3900), ("Vacuum Flask 750ml", 3300),
        ("Portable Espresso Maker", 6900), ("Collapsible Cup", 1100), ("Trail Coffee Sachets", 1000),
        ("Enamel Camp Mug", 1300), ("Hand Grinder Travel", 4500),
    ],
}


def demo_image_key(category: str, index: int) -> str:
    return f"img/demo/{category}-{index}.png"


def demo_images() -> list[tuple[str, str, int]]:
    """(key, category, index) of every demo product's image."""
    return [(demo_image_key(c, i), c, i) for c, items in _PRODUCTS.items() for i in range(1, len(items) + 1)]


def products() -> list[dict[str, object]]:
    """Product bodies for ``POST /products`` (deterministic skus, stock and prices)."""
    out: list[dict[str, object]] = []
    for category, items in _PRODUCTS.items():
        for index, (name, price) in enumerate(items, start=1):
            out.append({
                "sku": f"{category[:3].upper()}-{index:03d}",
                "name": name,
                "description": f"{name}: a demo product in {category}.",
                "category": category,
                "price_cents": price,
                "currency": "USD",
                "stock": 5 + (index * 7) % 40,
                "image_url": "/" + demo_image_key(category, index),
            })
    return out
