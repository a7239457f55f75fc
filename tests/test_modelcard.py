"""The model card is generated from the model file and never goes stale."""

from __future__ import annotations

from pathlib import Path

from il6sim.cli import main
from il6sim.modelcard import model_card
from il6sim.shipped import load_model


def test_committed_model_card_matches_the_model() -> None:
    card = Path("docs/model.md").read_text()
    fresh = model_card(load_model("il6"), command="il6sim model-card --out docs/model.md")
    assert card == fresh, "docs/model.md is stale: run `il6sim model-card --out docs/model.md`"


def test_card_lists_every_parameter_with_its_source_and_a_diagram(tmp_path: Path) -> None:
    out = tmp_path / "card.md"
    assert main(["model-card", "--out", str(out)]) == 0
    text = out.read_text()
    net = load_model("il6")
    assert "```mermaid" in text and "flowchart LR" in text
    for p in net.parameters:
        assert f"| {p.id} |" in text
        assert p.source.strip()
    for r in net.reactions:
        assert f"|{r.id}|" in text or f'"{r.id}"' in text, r.id
