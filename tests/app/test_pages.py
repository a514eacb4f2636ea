"""The pages and the API schema offer exactly the names the registries define."""

from __future__ import annotations

import re

from app.state.runs import FINAL, RUN_STATUSES
from model.config import DEFAULT_PRESET, PRESETS
from model.functions import COSTS, HIDDEN_ACTIVATIONS
from model.optim import OPTIMIZERS, SCHEDULES


def select_options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}">(.*?)</select>', html, flags=re.DOTALL)
    assert select, name
    options = re.findall(r'<option( value="[^"]*")?(?: selected)?>([^<]*)</option>', select.group(1))
    values = [attribute[len(' value="'):-1] if attribute else text for attribute, text in options]
    return [value for value in values if value]  # "" is "keep the preset's"


def test_the_admin_form_offers_every_registered_name(client) -> None:
    html = client.get("/admin").text
    assert select_options(html, "preset") == list(PRESETS)
    assert select_options(html, "activation") == list(HIDDEN_ACTIVATIONS)
    assert select_options(html, "optimizer") == list(OPTIMIZERS)
    assert select_options(html, "schedule") == list(SCHEDULES)
    assert f'data-final-statuses="{" ".join(FINAL)}"' in html
    assert f'<option value="{DEFAULT_PRESET}" selected>' in html  # as the API and the CLI start


def test_the_api_schema_lists_the_registered_names(client) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    train = schemas["TrainRequest"]["properties"]

    def enum(prop: dict) -> list[str]:
        return prop.get("enum") or next(s["enum"] for s in prop["anyOf"] if "enum" in s)

    assert enum(train["preset"]) == list(PRESETS)
    assert enum(train["activation"]) == list(HIDDEN_ACTIVATIONS)
    assert enum(train["cost"]) == list(COSTS)
    assert enum(train["optimizer"]) == list(OPTIMIZERS)
    assert enum(train["schedule"]) == list(SCHEDULES)
    assert enum(schemas["RunResponse"]["properties"]["status"]) == list(RUN_STATUSES)
