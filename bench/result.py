"""One figure of a benchmark, its baseline and target, as printed and written to RESULTS.md."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Result:
    """``value`` (in ``unit``) of ``metric`` in ``bench``; ``met`` is None when there is no target."""

    bench: str
    metric: str
    value: float | None
    unit: str = ""
    baseline: float | None = None
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    margin: str = ""
    note: str = ""
    extra: dict = field(default_factory=dict)

    def verdict(self) -> str:
        if self.met is None:
            return "-" if self.value is not None else "not run"
        return ("met" if self.met else "MISSED") + (f" ({self.margin})" if self.margin else "")


def fmt(x, unit: str = "") -> str:
    """A number for the table: 3 significant figures."""
    if x is None:
        return "-"
    if isinstance(x, float):
        text = f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"
    else:
        text = f"{x:,}"
    return f"{text} {unit}".strip()


def margin(value: float, limit: float, higher_is_better: bool) -> str:
    """How far ``value`` is from ``limit``, in words: "35% under", "2.4x the limit", "45% of target"."""
    if not limit or value is None:
        return ""
    share = value / limit
    if higher_is_better:
        return f"{(share - 1) * 100:.0f}% above target" if share >= 1 else f"{share * 100:.0f}% of target"
    return f"{(1 - share) * 100:.0f}% under limit" if share <= 1 else f"{share:.2f}x the limit"
