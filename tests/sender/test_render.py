"""Rendering a batch: off the event loop, one readable reason and its kind per failed lead."""

from __future__ import annotations

import uuid

from services.sender.campaigns import CampaignSpec
from services.sender.render import LinkSigner, render_batch
from shared.campaigns import State
from shared.contracts import Recipient
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


def _recipient(**merge_vars: object) -> Recipient:
    fields = {"first_name": "Ada", "attributes": {}, **merge_vars}
    return Recipient(lead_id=uuid.uuid4(), email=f"{uuid.uuid4().hex}@x.test", merge_vars=fields)


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
