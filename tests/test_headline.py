"""The headline amounts of an event: largest investment, lowest price, written short."""

from __future__ import annotations

from pipeline.headline import largest_investment_usd, lowest_price_usd, short_usd

AMOUNTS = [
    {"kind": "price", "value_usd": 1.1024},
    {"kind": "price", "value_usd": 0.5512},
    {"kind": "investment", "value_usd": None},  # "수십억달러": no figure
    {"kind": "investment", "value_usd": 52364000000.0},
    {"kind": "investment", "value_usd": 53000000000.0},
    {"kind": "other", "value_usd": 500000000000.0},  # not a pledge
    {"kind": "revenue", "value_usd": 46521280000.0},
]


def test_largest_investment_ignores_other_kinds_and_missing_figures() -> None:
    assert largest_investment_usd(AMOUNTS) == 53000000000.0
    assert largest_investment_usd([{"kind": "revenue", "value_usd": 5.0}]) is None
    assert largest_investment_usd(None) is None


def test_lowest_price() -> None:
    assert lowest_price_usd(AMOUNTS) == 0.5512
    assert lowest_price_usd([]) is None


def test_short_usd() -> None:
    assert short_usd(53e9) == "$53B"
    assert short_usd(10583040000.0) == "$10.6B"
    assert short_usd(2.5e12) == "$2.5T"
    assert short_usd(250e6) == "$250M"
    assert short_usd(1200) == "$1.2K"
    assert short_usd(0.069) == "$0.069"
    assert short_usd(None) == ""
    assert short_usd(0.5512) == "$0.55"
    assert short_usd(2.0) == "$2"
