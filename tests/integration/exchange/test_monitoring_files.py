"""The Prometheus alert rules and the Grafana dashboard in deploy/ parse, and every migrex
metric they name is exported by a node's registry (a renamed metric would silence an alert)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from prometheus_client import generate_latest

from migrex.exchange.runtime import ExchangeRuntime
from migrex.retention.tables import RetentionKeyRow
from migrex.security.model import Refusal
from migrex.security.service import note
from nodes import Pair

DEPLOY = Path(__file__).parents[3] / "deploy"
ALERTS = DEPLOY / "prometheus" / "migrex-alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "migrex-dashboard.json"
_METRIC = re.compile(r"\bmigrex_[a-z0-9_]+")
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"),
             "gauge": ("",), "summary": ("_sum", "_count")}  # fmt: skip


def exported(runtime: ExchangeRuntime) -> set[str]:
    """Every series name the node's /metrics can carry, from each family's type."""
    return {
        family.name + suffix
        for family in runtime.metrics.registry.collect()
        for suffix in _SUFFIXES.get(family.type, ("",))
    }


def alert_expressions() -> list[str]:
    document = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    assert rules and all({"alert", "expr", "labels", "annotations"} <= set(r) for r in rules)
    return [str(rule["expr"]) for rule in rules]


def dashboard_expressions() -> list[str]:
    document = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [target["expr"] for panel in document["panels"] for target in panel["targets"]]


def test_every_metric_the_alerts_and_dashboard_name_is_exported(pair: Pair) -> None:
    runtime = ExchangeRuntime.start_up(pair.am)
    names = exported(runtime)
    for source, expressions in (("alerts", alert_expressions()),
                                ("dashboard", dashboard_expressions())):  # fmt: skip
        named = {name for expr in expressions for name in _METRIC.findall(expr)}
        assert named, source
        assert named <= names, (source, sorted(named - names))


def test_the_issue_s_figures_are_covered_by_alerts() -> None:
    named = {name for expr in alert_expressions() for name in _METRIC.findall(expr)}
    figures = {
        "migrex_outbox_depth",  # parked messages
        "migrex_delivery_latency_seconds_bucket",
        "migrex_messages_rejected_total",  # refusals by reason
        "migrex_witness_last_cosigned_timestamp_seconds",  # witness lag
        "migrex_retention_backlog",
    }
    assert figures <= named


def test_the_gauges_read_the_database_when_scraped(pair: Pair) -> None:
    runtime = ExchangeRuntime.start_up(pair.am)
    now = datetime.now(UTC)
    with pair.am.unit_of_work() as uow:
        uow.session.add(RetentionKeyRow(
            record="m-1", agreement_id="kz-am-2024", our_authority="am-mcs", wrapped_key=b"k",
            sealed_at=now - timedelta(days=400), expires_at=now - timedelta(days=1),
        ))  # fmt: skip
        note(uow.session, [Refusal("failed-login", "failed login for officer #1", "10.0.0.1")] * 3,
             now)  # fmt: skip
        uow.commit()
    text = generate_latest(runtime.metrics.registry).decode()
    assert "migrex_retention_backlog 1.0" in text
    assert 'migrex_security_refusals_recent{reason="failed-login"} 3.0' in text
    assert "migrex_witness_last_cosigned_timestamp_seconds 0.0" in text
