"""Rendering a batch: on the event loop while cheap, else in a thread; one readable reason
and its kind per failed lead."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from services.sender import render
from services.sender.campaigns import CampaignSpec
from services.sender.render import LinkSigner, render_batch, render_email
from shared.campaigns import State
from shared.contracts.events import message_id
from shared.contracts.fast_sends import FastRecipient
from shared.templating import CompiledTemplate, RenderErrorKind, TemplateSource

SIGNER = LinkSigner(secret="s" * 32, base_url="https://u.example.test")
LOOPS = "{% for a in first_name * 400 %}{% for b in first_name * 400 %}{% endfor %}{% endfor %}"


def _spec(html: str) -> CampaignSpec:
    return CampaignSpec(
        campaign_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        state=State.SENDING,
        provider="simulator",
        from_email="news@acme.example",
        from_name="Acme",
        reply_to=None,
        template=CompiledTemplate(TemplateSource("Hi {{ first_name }}", html, "")),
        template_error="",
    )


def _recipient(**merge_vars: object) -> FastRecipient:
    fields = {"first_name": "Ada", "attributes": {}, **merge_vars}
    return FastRecipient(
        lead_id=uuid.uuid4(), email=f"{uuid.uuid4().hex}@x.test", merge_vars=fields
    )


async def test_render_batch_reasons_name_part_line_and_variable() -> None:
    spec = _spec("<p>Hi</p>\n{{ attributes.company }}")
    fine, lacking = _recipient(attributes={"company": "Acme"}), _recipient()
    emails, failed = await render_batch(spec, [fine, lacking], SIGNER, "acme.example")
    assert [e.lead_id for e in emails] == [fine.lead_id]
    ((who, error),) = failed
    assert who == lacking
    assert str(error) == "template html_body line 2: attributes.company is missing"
    assert error.kind is RenderErrorKind.LEAD_DATA


async def test_render_batch_budget_failure_is_its_own_kind() -> None:
    emails, failed = await render_batch(_spec(LOOPS), [_recipient()], SIGNER, "acme.example")
    assert emails == []
    ((_, error),) = failed
    assert error.kind is RenderErrorKind.BUDGET
    assert str(error).startswith("template html_body line 1: ")
    assert "loop iterations" in str(error) or "CPU time" in str(error)


async def test_render_batch_without_template_fails_every_recipient_as_template() -> None:
    spec = _spec("x")
    broken = CampaignSpec(**{**spec.__dict__, "template": None, "template_error": "template: bad"})
    _, failed = await render_batch(broken, [_recipient(), _recipient()], SIGNER, "acme.example")
    assert [(str(e), e.kind) for _, e in failed] == [
        ("template: bad", RenderErrorKind.TEMPLATE)
    ] * 2


async def test_render_batch_past_its_inline_slice_goes_to_a_thread_with_its_template(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch renders on the event loop until it has used `INLINE_RENDER_S` of CPU time;
    the rest of it, and every later batch of that template, renders in a worker thread.
    Either way every recipient gets its email or its reason, in order."""
    handed: list[int] = []
    to_thread = asyncio.to_thread

    async def spy(func: Any, renderer: Any, rest: list[FastRecipient], done: Any) -> Any:
        handed.append(len(rest))
        return await to_thread(func, renderer, rest, done)

    monkeypatch.setattr(asyncio, "to_thread", spy)
    cheap = _spec("<p>{{ attributes.company }}</p>")
    batch = [_recipient(attributes={"company": f"c{i}"}) for i in range(6)] + [_recipient()]
    emails, failed = await render_batch(cheap, batch, SIGNER, "acme.example")
    assert handed == []  # a cheap template's batch: all on the loop
    assert [e.html.split("</p>")[0] for e in emails] == [f"<p>c{i}" for i in range(6)]
    assert [who for who, _ in failed] == batch[6:]

    monkeypatch.setattr(render, "INLINE_RENDER_S", -1.0)
    slow = _spec("<p>{{ attributes.company }}</p>")
    emails, failed = await render_batch(slow, batch, SIGNER, "acme.example")
    assert handed == [6]  # the first on the loop, the rest in a thread
    assert [e.lead_id for e in emails] == [r.lead_id for r in batch[:6]]
    assert [who for who, _ in failed] == batch[6:]
    monkeypatch.setattr(render, "INLINE_RENDER_S", 10.0)
    emails, _ = await render_batch(slow, batch[:2], SIGNER, "acme.example")
    assert handed == [6, 2]  # that template's later batches: all in a thread
    assert [e.lead_id for e in emails] == [r.lead_id for r in batch[:2]]


def test_batch_emails_are_the_single_email() -> None:
    """What one batch shares (ids, links, metadata) gives each email what rendering it
    alone gives."""
    spec = _spec("<p>{{ first_name }}</p>")
    recipient = _recipient()
    alone = render_email(spec, recipient, SIGNER, "acme.example")
    assert alone.message_id == message_id(spec.campaign_id, recipient.lead_id, "acme.example")
    link = SIGNER.url(spec.account_id, spec.campaign_id, recipient.lead_id, recipient.email)
    assert alone.headers["List-Unsubscribe"] == f"<{link}>"
    assert alone.metadata == {
        "account_id": str(spec.account_id),
        "campaign_id": str(spec.campaign_id),
        "lead_id": str(recipient.lead_id),
    }
