"""Request bodies, validated strictly with pydantic (imported only by write paths).

Types are strict: a string where an integer belongs, a float for an integer, a
boolean for a number, an unknown field: each is a ``ValidationError`` naming the field.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from catalog_lambda.errors import ValidationError

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SKU_PATTERN = r"^[A-Za-z0-9_-]+$"
# An uploaded image's site path: /img/ then key segments (no "..", no empty segment).
SITE_IMAGE_PATH = re.compile(r"/img(?:/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}){1,8}")
MAX_PRICE_CENTS = 100_000_000
MAX_STOCK = 1_000_000

_ALLOWED_CONTROL = {"\n", "\r", "\t"}


def _no_control_chars(value: str, allow_newlines: bool = False) -> str:
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cs") and not (allow_newlines and ch in _ALLOWED_CONTROL):
            raise ValueError("must not contain control characters")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", str_strip_whitespace=False)


class ProductFields(_Strict):
    """The editable fields of a product (the contract's limits)."""

    sku: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=SKU_PATTERN)]
    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    description: Annotated[StrictStr, Field(max_length=5000)] = ""
    category: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=SLUG_PATTERN)]
    price_cents: Annotated[StrictInt, Field(ge=0, le=MAX_PRICE_CENTS)]
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")]
    image_url: Annotated[StrictStr, Field(max_length=2048)] | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return _no_control_chars(value)

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        return _no_control_chars(value, allow_newlines=True)

    @field_validator("image_url")
    @classmethod
    def _image_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from urllib.parse import urlsplit

        _no_control_chars(value)
        if SITE_IMAGE_PATH.fullmatch(value):
            return value  # the site path an image upload sets (catalog_lambda.images)
        if any(ch.isspace() for ch in value):
            raise ValueError("must be an https URL without spaces")
        try:
            parts = urlsplit(value)
        except ValueError:
            raise ValueError("must be an https URL") from None
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError("must be an https URL")
        return value

    def editable(self) -> dict[str, Any]:
        return self.model_dump()


class ProductCreate(ProductFields):
    stock: Annotated[StrictInt, Field(ge=0, le=MAX_STOCK)] = 0


class ProductReplace(ProductFields):
    """PUT body: read-only fields may be sent back (as GET returned them) and are ignored."""

    id: Any = None
    version: Any = None
    stock: Any = None
    created_at: Any = None
    updated_at: Any = None


class StockChange(_Strict):
    delta: Annotated[StrictInt, Field(ge=-MAX_STOCK, le=MAX_STOCK)] | None = None
    set: Annotated[StrictInt, Field(ge=0, le=MAX_STOCK)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> StockChange:
        if (self.delta is None) == (self.set is None):
            raise ValueError("give exactly one of 'delta' or 'set'")
        return self


class CategoryCreate(_Strict):
    slug: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=SLUG_PATTERN)]
    name: Annotated[StrictStr, Field(min_length=1, max_length=100)]


class ImageUploadRequest(_Strict):
    """What an image upload is signed for: its type (SVG and others are refused)."""

    content_type: Literal["image/jpeg", "image/png", "image/webp"]


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], body: Any) -> M:
    """Validate a decoded JSON body, turning pydantic's errors into the contract's details."""
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object", [{"field": "", "issue": "not an object"}])
    try:
        return model.model_validate(body)
    except PydanticValidationError as error:
        details = [
            {"field": ".".join(str(p) for p in e["loc"]) or "", "issue": _issue(e)}
            for e in error.errors(include_url=False, include_input=False)
        ]
        raise ValidationError("the request body is invalid", details) from None


def _issue(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field"
    message: str = error["msg"]
    return message.removeprefix("Value error, ")


MAX_ORDER_LINES = 50
MAX_LINE_QUANTITY = 1000


class OrderLineIn(_Strict):
    product_id: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
    quantity: Annotated[StrictInt, Field(ge=1, le=MAX_LINE_QUANTITY)]


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.strip():
        raise ValueError("must not be blank")
    return _no_control_chars(value)


class Address(_Strict):
    """A shipping address; ``country`` is an assigned ISO 3166-1 alpha-2 code in capitals."""

    name: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    line1: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    line2: Annotated[StrictStr, Field(max_length=200)] | None = None
    city: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    region: Annotated[StrictStr, Field(max_length=100)] | None = None
    postal_code: Annotated[StrictStr, Field(min_length=1, max_length=20)]
    country: Annotated[StrictStr, Field(min_length=2, max_length=2, pattern=r"^[A-Z]{2}$")]

    @field_validator("name", "line1", "city", "postal_code")
    @classmethod
    def _required_text(cls, value: str) -> str:
        checked = _text(value)
        assert checked is not None
        return checked

    @field_validator("line2", "region")
    @classmethod
    def _optional_text(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        return _text(value)

    @field_validator("country")
    @classmethod
    def _assigned_country(cls, value: str) -> str:
        from catalog_lambda.countries import is_assigned

        if not is_assigned(value):
            raise ValueError("must be an assigned ISO 3166-1 alpha-2 code")
        return value


class OrderCreate(_Strict):
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=MAX_ORDER_LINES)]
    shipping_address: Address

    def merged(self) -> list[tuple[str, int]]:
        """Lines naming the same product merged (first-appearance order); each total still <= 1000."""
        totals: dict[str, int] = {}
        for line in self.lines:
            totals[line.product_id] = totals.get(line.product_id, 0) + line.quantity
        over = [pid for pid, qty in totals.items() if qty > MAX_LINE_QUANTITY]
        if over:
            raise ValidationError(
                "a product's total quantity is over 1000",
                [{"field": "lines", "issue": f"product {pid!r} totals more than {MAX_LINE_QUANTITY}"} for pid in over],
            )
        return list(totals.items())


class Shipment(_Strict):
    carrier: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    tracking_number: Annotated[StrictStr, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9 ._/-]+$")]

    @field_validator("carrier")
    @classmethod
    def _carrier(cls, value: str) -> str:
        checked = _text(value)
        assert checked is not None
        return checked
