"""Numbers: ``{"rule": "number", "decimal": ".", "scale": 0.01, "round": 2}``.

Text is parsed with the given decimal separator (the other of "." and "," and spaces
are thousands separators), multiplied by ``scale``, then rounded to ``round`` digits;
``round: 0`` gives an integer.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

from jobs.mapping.model import Params, Rule, RuleFailed, register, text_of

MAX_DIGITS = 100


@register
class Number(Rule):
    name = "number"
    params = ("decimal", "scale", "round")

    def __init__(self, params: Params) -> None:
        super().__init__(params)
        self.decimal = params.text("decimal", ".", choices=(".", ","))
        self.scale = Decimal(repr(params.number("scale", 1)))
        self.round = params.integer("round", 0, high=12) if params.has("round") else None

    def parse(self, value: Any) -> Decimal:
        if isinstance(value, bool):
            raise RuleFailed("true/false is not a number")
        if isinstance(value, int | float):
            if isinstance(value, float) and not math.isfinite(value):
                raise RuleFailed("is not a finite number")
            return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        text = text_of(value, "number")
        assert text is not None
        thousands = "," if self.decimal == "." else "."
        cleaned = text.strip().replace(" ", "").replace("\u00a0", "").replace(thousands, "")
        cleaned = cleaned.replace(self.decimal, ".")
        if len(cleaned) > MAX_DIGITS:
            raise RuleFailed(f"has more than {MAX_DIGITS} characters")
        try:
            number = Decimal(cleaned)
        except InvalidOperation:
            raise RuleFailed(f"{text[:100]!r} is not a number") from None
        if not number.is_finite():
            raise RuleFailed("is not a finite number")
        return number

    def apply(self, value: Any) -> Any:
        if value is None or value == "":
            return None
        number = self.parse(value) * self.scale
        if self.round == 0:
            return int(number.quantize(Decimal(1)))
        if self.round is not None:
            number = number.quantize(Decimal(1).scaleb(-self.round))
        result = float(number)
        if not math.isfinite(result):
            raise RuleFailed("is too large")
        return result
