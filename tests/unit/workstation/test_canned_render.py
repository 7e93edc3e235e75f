"""Rendering canned responses: variables, placeholders, missing data, and customer text that tries to inject."""

from __future__ import annotations

from hypothesis import assume, example, given
from hypothesis import strategies as st

from tests.fuzzing import FUZZ, NASTY_STRINGS
from workstation import canned
from workstation.canned import Placeholder

CONTEXT = {"customer.first_name": "Núria", "agent.first_name": "Ana", "conversation.id": "42"}


def test_placeholders_are_the_template_spans_in_order():
    text = "Order [[order number]] ships on [[ date ]]; [[]] and [[a\nb]] and [x] are not placeholders."
    spans = canned.placeholders(text)
    assert spans == [Placeholder(6, 22, "order number"), Placeholder(32, 42, "date")]
    assert [text[s.start:s.end] for s in spans] == ["[[order number]]", "[[ date ]]"]
    assert canned.placeholders("") == []
    assert canned.placeholders("[[x]][[y]]") == [Placeholder(0, 5, "x"), Placeholder(5, 10, "y")]


def test_render_with_placeholders_fills_variables_and_moves_the_spans():
    body = "Hola {{customer.first_name}}, soy {{ agent.first_name }}. Pedido [[número de pedido]], caso {{conversation.id}}."
    text, spans, missing = canned.render_with_placeholders(body, CONTEXT)
    assert text == "Hola Núria, soy Ana. Pedido [[número de pedido]], caso 42."
    assert [text[s.start:s.end] for s in spans] == ["[[número de pedido]]"]
    assert spans[0].label == "número de pedido"
    assert missing == []


def test_missing_data_stays_visible_and_is_reported():
    body = "Hi {{customer.first_name}}, we're open {{team.hours}}. {{team.hours}} again, {{customer.first_name}}."
    out = canned.render_with_placeholders(body, {"customer.first_name": ""})
    assert out.text == body
    assert out.missing == ["customer.first_name", "team.hours"]


def test_unknown_variables_stay_visible_and_are_reported():
    out = canned.render_with_placeholders("Tier: {{customer.loyalty_tier}} {{no.such}} {{ bad name }}", {
        "customer.loyalty_tier": "Gold"})
    assert out.text == "Tier: Gold {{no.such}} {{ bad name }}"  # "bad name" is not a variable at all
    assert out.missing == ["no.such"]
    assert canned.render("{{order.number}}", CONTEXT) == "{{order.number}}"


def test_non_text_values_are_written_as_text():
    assert canned.render("Case {{conversation.id}}", {"conversation.id": 42}) == "Case 42"


def test_a_customer_called_like_a_variable_or_a_placeholder_stays_literal():
    context = {"customer.first_name": "{{agent.first_name}} [[order number]]", "agent.first_name": "Ana",
               "customer.name": "{{conversation.id}}"}
    out = canned.render_with_placeholders("Hi {{customer.first_name}}, I'm {{agent.first_name}}. [[date]]", context)
    assert out.text == "Hi {{agent.first_name}} [[order number]], I'm Ana. [[date]]"
    # Only the template's own placeholder is for the agent to fill; the customer's "[[order number]]" is text.
    assert [(out.text[s.start:s.end], s.label) for s in out.placeholders] == [("[[date]]", "date")]
    assert out.missing == []  # and the customer's "{{agent.first_name}}" is not a variable left to fill


def test_render_keeps_its_old_behaviour():
    body = "Hola {{customer.first_name}}, soy {{ agent.first_name }}. Caso {{conversation.id}}. {{order.number}}"
    assert canned.render(body, CONTEXT) == "Hola Núria, soy Ana. Caso 42. {{order.number}}"


# Customer-controlled text, built to look like marks of either kind.
hostile = st.one_of(
    st.sampled_from(NASTY_STRINGS),
    st.text(max_size=30),
    st.lists(st.sampled_from(["{{", "}}", "[[", "]]", "agent.first_name", "x", " ", "\n", "{", "]", "\x00",
                              "conversation.id", "[[order number]]", "{{team.hours}}"]), max_size=10).map("".join),
)
SENTINELS = {"customer.first_name": "\ue000", "customer.name": "\ue001", "agent.first_name": "\ue002"}
templates = st.lists(st.sampled_from(["Hi ", "{{customer.first_name}}", "{{customer.name}}", "[[order number]]",
                                      "{{ agent.first_name }}", "[[date]]", "{{team.hours}}", ". ", "[[", "}}"]),
                     max_size=8).map("".join)


@FUZZ
@given(template=templates, first=hostile, name=hostile)
@example(template="{{customer.first_name}}[[date]]", first="[[x]]", name="")
@example(template="[[a]]{{customer.first_name}}[[b]]", first="]][[", name="{{")
def test_customer_text_can_never_inject_a_variable_or_a_placeholder(template, first, name):
    context = {"customer.first_name": first, "customer.name": name, "agent.first_name": "Ana"}
    out = canned.render_with_placeholders(template, context)
    # The template's placeholders, exactly, at the places the rendered text holds them.
    assert [s.label for s in out.placeholders] == [p.label for p in canned.placeholders(template)]
    for span in out.placeholders:
        mark = out.text[span.start:span.end]
        assert mark.startswith("[[") and mark.endswith("]]") and mark[2:-2].strip() == span.label
    # Reported missing: only variables of the template, never names that came from customer text.
    assert set(out.missing) <= set(canned.variables(template))
    # The text is the template with each variable replaced by its value (or left as it was): values go
    # in last, through sentinels, so nothing in them is replaced again.
    assume(not any(ch in first + name for ch in SENTINELS.values()))
    rebuilt = template.replace("{{ agent.first_name }}", "{{agent.first_name}}")
    for key, sentinel in SENTINELS.items():
        rebuilt = rebuilt.replace("{{%s}}" % key, sentinel)
    for key, sentinel in SENTINELS.items():
        rebuilt = rebuilt.replace(sentinel, context[key] or "{{%s}}" % key)
    assert out.text == rebuilt

def test_values_are_not_scanned_again_even_when_they_complete_a_mark():
    # "{{customer.first_name}}" followed by a value ending in "{{" and a template continuing with
    # "agent.first_name}}" must not join into a variable.
    out = canned.render_with_placeholders("{{customer.first_name}}agent.first_name}}", {
        "customer.first_name": "{{", "agent.first_name": "Ana"})
    assert out.text == "{{agent.first_name}}" and out.missing == []
    out = canned.render_with_placeholders("{{customer.first_name}}x]] [[y]]", {"customer.first_name": "[["})
    assert out.text == "[[x]] [[y]]"
    assert [out.text[s.start:s.end] for s in out.placeholders] == ["[[y]]"]
