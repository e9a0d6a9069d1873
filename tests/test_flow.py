"""The crawl flow under Prefect (ephemeral local API, temporary PREFECT_HOME, offline)."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml
from conftest import fast_settings
from loopback import LoopbackSite, html

from crawler.settings import settings_to_dict

ROOT = Path(__file__).resolve().parents[1]
ARTICLE_A = (
    "The harbour authority approved a new ferry timetable on Monday. Boats will leave every "
    "twenty minutes during the summer season, and the night service returns after two years. "
    "Local shop owners said the change should bring more visitors to the old town."
)
ARTICLE_B = (
    "A small library in the hills has started lending tools as well as books. Residents can "
    "borrow drills, ladders and sewing machines for a week at a time, free of charge. The "
    "librarian said the idea came from a neighbour who needed a saw only once a year."
)


def test_crawl_flow_runs_offline_and_reports(tmp_path: Path) -> None:
    from prefect.artifacts import Artifact

    from flows.crawl import crawl_flow

    pages = {
        "/": html('<a href="/a.html">a</a> <a href="/b.html">b</a>'),
        "/a.html": html(f"<html><body><article><p>{ARTICLE_A}</p></article></body></html>"),
        "/b.html": html(f"<html><body><article><p>{ARTICLE_B}</p></article></body></html>"),
    }
    with LoopbackSite(pages) as site:
        report = crawl_flow(
            archive=str(tmp_path / "archive"),
            sources=[{"name": "site", "seeds": [site.url("/")]}],
            settings=settings_to_dict(fast_settings()),
        )
    assert report["outcomes"] == {"archived": 3}
    assert report["status"] == "finished"
    assert report["documents_by_lang"].get("en", 0) >= 2
    artifact = Artifact.get("crawl-report")
    assert artifact is not None
    assert "| archived | 3 |" in str(artifact.data)


def test_prefect_yaml_entrypoints_load() -> None:
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    names = {d["name"] for d in spec["deployments"]}
    assert "scheduled-crawl" in names
    for deployment in spec["deployments"]:
        module_path, func = deployment["entrypoint"].split(":")
        module = importlib.import_module(module_path.removesuffix(".py").replace("/", "."))
        flow_obj = getattr(module, func)
        assert hasattr(flow_obj, "fn"), f"{deployment['entrypoint']} is not a Prefect flow"
        params = set(deployment.get("parameters", {}))
        assert params <= set(flow_obj.parameters.properties), params
