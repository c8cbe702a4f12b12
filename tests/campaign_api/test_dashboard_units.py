"""The dashboard's pure parts: progress (rate, ETA), charts, form reshaping, where a
sign-in may lead, and the condition vocabulary against the parser it describes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.campaign_api.dashboard.backend import ApiProblem
from services.campaign_api.dashboard.charts import funnel_chart, time_chart
from services.campaign_api.dashboard.forms import FormInvalid, campaign_body, field_errors
from services.campaign_api.dashboard.pages.reports import funnel_steps
from services.campaign_api.dashboard.progress import Sample, duration_text, progress_of
from services.campaign_api.dashboard.web import PREFIX, safe_next
from shared.conditions import ConditionError, parse_condition
from shared.conditions.vocabulary import attribute_field, column_fields, value_shapes

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _campaign(**counts: Any) -> dict[str, Any]:
    base = {
        "state": "sending", "matched": 1000, "enqueued": 600, "sent": 400, "failed": 10,
        "suppressed": 5, "cancelled": 0, "excluded": 25, "state_reason": None,
    }  # fmt: skip
    return {**base, **counts}


def test_progress_counts_rate_and_eta() -> None:
    since = Sample(done=240, at=(NOW - timedelta(seconds=4)).timestamp())
    p = progress_of(_campaign(), NOW, since)
    assert (p.done, p.remaining, p.resolved, p.percent) == (440, 560, 625, 44.0)
    assert p.rate == 50.0  # 200 leads in 4 s
    assert p.eta_seconds == pytest.approx(11.2)
    assert duration_text(p.eta_seconds) == "11 s"


def test_progress_without_a_usable_sample_has_no_rate() -> None:
    assert progress_of(_campaign(), NOW, None).rate is None
    future = Sample(done=0, at=(NOW + timedelta(seconds=1)).timestamp())
    assert progress_of(_campaign(), NOW, future).rate is None
    other_run = Sample(done=900, at=(NOW - timedelta(seconds=1)).timestamp())
    assert progress_of(_campaign(), NOW, other_run).rate is None
    resolving = progress_of(_campaign(matched=None), NOW, None)
    assert (resolving.remaining, resolving.percent, resolving.eta_seconds) == (None, None, None)
    done = progress_of(_campaign(state="completed"), NOW, Sample(0, NOW.timestamp() - 1))
    assert (done.running, done.eta_seconds) == (False, None)


def test_duration_text() -> None:
    assert [duration_text(s) for s in (None, 0, 59.6, 200, 7500)] == [
        "—", "0 s", "1 min 0 s", "3 min 20 s", "2 h 5 min"
    ]  # fmt: skip


def _funnel(**counts: int) -> dict[str, Any]:
    steps = (
        "sent", "failed", "suppressed", "cancelled", "excluded", "delivered", "bounced",
        "complained", "opened", "clicked", "unsubscribed",
    )  # fmt: skip
    return {"matched": 100, "counts": {s: counts.get(s, 0) for s in steps}}


def test_funnel_bars_scale_to_the_largest_step() -> None:
    steps = funnel_steps(_funnel(sent=90, excluded=10, delivered=80, opened=40))
    assert steps[0] == ("matched", 100, "")
    assert ("delivered", 80, "88.9 % of sent") in steps
    assert ("opened", 40, "50.0 % of delivered") in steps
    chart = funnel_chart(steps, width=640)
    widths = {bar.label: bar.width for bar in chart.bars}
    room = 640 - chart.bar_x - 110
    assert widths["matched"] == room and widths["opened"] == pytest.approx(room * 0.4)
    assert widths["clicked"] == 0
    assert [bar.y for bar in chart.bars] == sorted({bar.y for bar in chart.bars})


def test_time_chart_spans_first_to_last_minute() -> None:
    rows = [
        {"minute": "2026-12-02T09:00:00Z", "sent": 10, "failed": 0},
        {"minute": "2026-12-02T09:01:00Z", "sent": 40, "failed": 2},
        {"minute": "2026-12-02T09:03:00Z", "sent": 20, "failed": 1},
    ]
    chart = time_chart(rows, ("sent", "failed"), width=720, height=240, left=56, bottom=28)
    sent = chart.series[0].dots
    assert chart.series[0].points == " ".join(f"{x},{y}" for x, y in sent)
    assert sent[0][0] == 56 and sent[-1][0] == 720 - 8  # first and last minute at the ends
    assert sent[1][1] == 8  # the largest value touches the top
    assert sent[1][0] - sent[0][0] == pytest.approx((sent[2][0] - sent[1][0]) / 2, abs=0.2)
    assert (chart.series[0].total, chart.series[1].total) == (70, 3)
    assert [t.text for t in chart.x_ticks] == ["09:00", "09:01", "09:03"]
    assert time_chart([], ("sent",)).x_ticks == []
    [alone] = time_chart(rows[:1], ("sent",), width=720, left=56).series[0].dots
    assert alone == (56 + (720 - 56 - 8) / 2, 8)  # one minute: a dot in the middle, on top


@given(st.text(max_size=60))
def test_sign_in_leads_only_into_the_dashboard(value: str) -> None:
    target = safe_next(value)
    assert target.startswith(f"{PREFIX}/")
    assert "\\" not in target
    assert target == value or target == f"{PREFIX}/campaigns"


def test_campaign_body_from_the_form() -> None:
    body = campaign_body(
        {
            "name": "n", "template_id": "t", "from_local": "news", "from_domain": "ex.com",
            "reply_local": "", "reply_domain": "", "scheduled_at": "2026-12-24T09:30",
            "condition": '{"field": "email", "op": "exists", "value": true}',
            "provider_config_id": "",
        }
    )  # fmt: skip
    assert body["from_email"] == "news@ex.com" and body["reply_to"] is None
    assert body["scheduled_at"] == "2026-12-24T09:30:00+00:00"
    assert "provider_config_id" not in body
    with pytest.raises(FormInvalid) as bad:
        campaign_body({"condition": "{", "scheduled_at": ""})
    assert set(bad.value.errors) == {"condition"}


def test_field_errors_by_field() -> None:
    problem = ApiProblem(
        422,
        "2 errors",
        [
            {"loc": ["body", "condition"], "msg": "$.field: unknown", "path": "$.field"},
            {"loc": ["body", "html_body"], "msg": "unexpected '}'", "line": 3},
            {"loc": ["query", "x"], "msg": "odd"},
        ],
    )
    assert field_errors(problem) == {
        "condition": "$.field: unknown", "html_body": "line 3: unexpected '}'", "": "odd"
    }  # fmt: skip
    assert field_errors(ApiProblem(422, "just this")) == {"": "just this"}


SAMPLES: dict[str, Any] = {"text": "x", "date": "2025-01-01", "tags": "vip"}


def _sample(kind: str, op: str) -> Any:
    shapes = value_shapes()
    if op in shapes["boolean"]:
        return True
    if op in shapes["duration"]:
        return {"days": 1}
    if op in shapes["list"]:
        return ["x"]
    if op in ("before", "after"):
        return "2025-01-01"
    return SAMPLES.get(kind, "x")


def test_vocabulary_offers_exactly_what_the_parser_accepts() -> None:
    every_op = [
        "eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains", "contains_any",
        "contains_all", "exists", "starts_with", "ends_with", "contains_text", "before",
        "after", "within_last",
    ]  # fmt: skip
    attribute = attribute_field("plan")
    assert attribute is not None and attribute_field("my-key") is None
    for spec in [*column_fields(), attribute]:
        for op in every_op:
            condition = {"field": spec.field, "op": op, "value": _sample(spec.kind, op)}
            if op in spec.ops:
                parse_condition(condition)  # offered: accepted
            else:
                with pytest.raises(ConditionError):
                    parse_condition(condition)
