"""`make demo`'s scenario, end to end, at the smallest synthetic scale.

The demo writes what it showed to `outcome.json`; the checks read that, and a few whole lines
of the transcript, never a word that could sit inside a failure ("intact" in "NOT intact") or a
title printed whether or not anything arrived. The checks themselves are tested on broken
outcomes below, so they cannot quietly stop checking.
"""

from __future__ import annotations

import copy
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from migrex.demo.outcome import Delivery, DemoOutcome, LogVerdict

ROOT = Path(__file__).parents[2]

# The report's figures (Armenian citizens working in Kazakhstan), which the synthetic
# registries are built to reproduce and the demo recomputes twice: from KZ's registries, and
# from the statistics releases Armenia's node receives.
WORKERS = {"2024": 2623, "2025": 2134}
CHANGE = "−18.6 %"
DELIVERIES = [
    ("statistical-information", "kz-mlsp", "am-mcs"),
    ("legal-information", "am-mcs", "kz-mia"),
    ("methodological-information", "kz-mia", "am-police"),
]
CASES = {
    "inquiry at am-mcs": "partially-answered",
    "violation notice filed at am-police": "violation-notice",
    "refused inquiry at am-police": "refused",
    "clarified inquiry at am-mcs": "partially-answered",
    "consultation at am-mcs": "answered",
    "consultation at kz-mia": "answered",
}
LINES = [
    r"computed 2024 → 2025: 2,623 → 2,134 \(−18\.6 %\)",
    r"the report's figures: reproduced",
    r"\s*flag for the reviewer legal-basis-vague: .*",
    r"\s*verification of the tampered copy: caught",
]
NEVER = r"NOT intact|NOT caught|NOT reproduced|Traceback"


def check_outcome(outcome: dict[str, Any]) -> None:
    assert outcome["workers"] == WORKERS, "computed from KZ's registries"
    assert outcome["workers_change"] == CHANGE
    assert outcome["released"] == WORKERS, "as received from KZ's releases at AM"
    assert outcome["released_change"] == CHANGE
    assert [(d["type"], d["sender"], d["recipient"]) for d in outcome["deliveries"]] == DELIVERIES
    for delivery in outcome["deliveries"]:
        assert delivery["status"] == "delivered", delivery
        assert delivery["stored_by_recipient"] is True, delivery
        assert delivery["receipt_signed_by"] == delivery["recipient"], delivery
    assert outcome["cases"] == CASES
    assert [log["state"] for log in outcome["logs"]] == ["KZ", "AM"]
    for log in outcome["logs"]:
        assert log["intact"] is True, log
        assert log["entries"] > 0 and log["checkpoints"] >= 1, log
        assert log["cosignatures"] >= 1, f"{log['state']}'s log was not witnessed"
    assert outcome["tampered_copy_caught"] is True
    # The channels step: leads found in KZ's registers (synth plants channels there), the
    # best one opened as a request naming its members with a violation, delivered to am-mcs.
    channels = outcome["channels"]
    assert channels["leads"] >= 1 and channels["opened"] == "R1-L0001", channels
    assert channels["persons_asked"] >= 1, channels
    assert channels["state_at_partner"] == "delivered", channels
    # The linkage step: the unit's pairs against the planted dual citizens, then one pair
    # asked about formally, which Armenia's answer closes at both parties.
    linkage = outcome["linkage"]
    assert linkage["planted"] > 0, linkage
    assert linkage["true_pairs"] / linkage["planted"] >= 0.9, linkage
    assert linkage["true_pairs"] / linkage["pairs"] >= 0.9, linkage
    assert linkage["held"] == "yes" and linkage["request_at_kz"] == "answered", linkage
    assert linkage["pair_at_kz"] == "confirmed" and linkage["pair_at_am"] == "confirmed", linkage


def check_transcript(text: str) -> None:
    for line in LINES:
        assert re.search(f"^{line}$", text, re.MULTILINE), line
    assert not re.search(NEVER, text), re.search(NEVER, text)


def test_the_demo_plays_the_whole_scenario_then_keeps_the_consoles(tmp_path: Path) -> None:
    """`make console`: the scenario, then both nodes stay up with their officers' consoles
    over TLS; a demo officer signs in with the sign-in printed; SIGTERM stops it cleanly."""
    workspace = tmp_path / "ws"
    demo = subprocess.Popen(
        [sys.executable, "-m", "migrex", "demo", "--workspace", str(workspace),
         "--persons", "10000", "--agreements", str(ROOT / "agreements"), "--console"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    try:
        transcript = _read_until(demo, "Ctrl-C", timeout=300)
        consoles = re.findall(r"https://127\.0\.0\.1:\d+/ui/", transcript)
        assert len(consoles) == 2, transcript[-3000:]
        found = re.search(r"│ (kz-auditor) +│ ([A-Za-z0-9_-]{16}) +│", transcript)
        assert found is not None, transcript[-3000:]
        _sign_in_and_open_the_audit_page(consoles[0], *found.groups(), workspace)
    finally:
        # Reaped whatever failed, so no later test inherits a demo still running.
        if demo.poll() is None:
            demo.send_signal(signal.SIGTERM)
        rest, _ = demo.communicate(timeout=60)
    assert demo.returncode == 0, (transcript + rest)[-3000:]
    check_outcome(json.loads((workspace / "outcome.json").read_text(encoding="utf-8")))
    check_transcript(transcript)
    charts = workspace / "am" / "charts"
    for name in ("am-workers-in-kz-year-over-year.svg", "am-workers-in-kz-2025-region.svg"):
        assert (charts / name).stat().st_size > 0, name


def _read_until(process: subprocess.Popen[str], marker: str, timeout: float) -> str:
    """What the process printed up to the line holding `marker` (the test fails if it ends,
    or takes longer, first)."""
    assert process.stdout is not None
    lines: list[str] = []
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    try:
        for line in process.stdout:
            lines.append(line)
            if marker in line:
                return "".join(lines)
    finally:
        timer.cancel()
    raise AssertionError("the demo ended before its consoles were up: " + "".join(lines)[-3000:])


def _sign_in_and_open_the_audit_page(
    console: str, username: str, password: str, workspace: Path
) -> None:
    base = console.removesuffix("/ui/")
    trusted = ssl.create_default_context(cafile=str(workspace / "kz" / "pki" / "ca.pem"))
    with httpx.Client(verify=trusted, base_url=base) as client:
        signed = client.post("/ui/sign-in", data={"username": username, "password": password})
        assert signed.status_code == 303, signed.text
        page = client.get("/ui/audit")
        assert page.status_code == 200 and "data-ok" not in page.text
        assert 'hx-post="/ui/audit/verify"' in page.text


# What a good run gives (as written by the demo at --persons 10000), and ways it can go wrong.
GOOD: dict[str, Any] = {
    "workers": WORKERS, "workers_change": CHANGE, "reported": WORKERS,
    "deliveries": [
        {"type": t, "sender": s, "recipient": r, "status": "delivered",
         "stored_by_recipient": True, "receipt_signed_by": r}
        for t, s, r in DELIVERIES
    ],
    "cases": CASES, "released": WORKERS, "released_change": CHANGE,
    "logs": [
        {"state": "KZ", "intact": True, "entries": 55, "checkpoints": 1, "cosignatures": 1},
        {"state": "AM", "intact": True, "entries": 49, "checkpoints": 1, "cosignatures": 1},
    ],
    "tampered_copy_caught": True,
    "channels": {"leads": 6, "opened": "R1-L0001", "persons_asked": 47,
                 "state_at_partner": "delivered"},
    "linkage": {"planted": 300, "pairs": 301, "true_pairs": 298, "held": "yes",
                "request_at_kz": "answered", "pair_at_kz": "confirmed", "pair_at_am": "confirmed"},
}  # fmt: skip
GOOD_TRANSCRIPT = """\
computed 2024 → 2025: 2,623 → 2,134 (−18.6 %)
the report's figures: reproduced
    flag for the reviewer legal-basis-vague: the legal basis 'the agreement' names nothing
│ KZ   │ 55          │ 1           │ 1            │ intact       │
│ AM   │ 49          │ 1           │ 1            │ intact       │
  verification of the tampered copy: caught
"""


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(outcome: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = outcome
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return change


BROKEN = {
    "a log does not verify": _set("logs.1.intact", False),
    "a log was never witnessed": _set("logs.0.cosignatures", 0),
    "the tampered copy passes": _set("tampered_copy_caught", False),
    "a message is never receipted": _set("deliveries.2.receipt_signed_by", None),
    "a message stays in the outbox": _set("deliveries.0.status", "pending"),
    "a message is receipted but not stored": _set("deliveries.1.stored_by_recipient", False),
    "no messages at all": _set("deliveries", []),
    "computed figures differ from the report": _set("workers", {"2024": 2600, "2025": 2134}),
    "computed change differs": _set("workers_change", "−18.7 %"),
    "a release arrives suppressed": _set("released", {"2024": 2623, "2025": None}),
    "a case ends elsewhere": _set("cases.refused inquiry at am-police", "in-review"),
    "no channel lead is found": _set("channels.leads", 0),
    "a lead's request never arrives": _set("channels.state_at_partner", None),
    "a lead's request names no one": _set("channels.persons_asked", 0),
    "the unit finds few planted dual citizens": _set("linkage.true_pairs", 200),
    "the unit's pairs are mostly wrong": _set("linkage.pairs", 600),
    "the pair asked about stays open": _set("linkage.pair_at_am", None),
    "the formal answer says no": _set("linkage.held", "no"),
}


@pytest.mark.parametrize("break_it", BROKEN.values(), ids=BROKEN.keys())
def test_the_outcome_check_fails_on_a_broken_outcome(break_it: Any) -> None:
    check_outcome(copy.deepcopy(GOOD))
    broken = copy.deepcopy(GOOD)
    break_it(broken)
    with pytest.raises(AssertionError):
        check_outcome(broken)


@pytest.mark.parametrize(
    "broken",
    [
        GOOD_TRANSCRIPT.replace("│ intact       │\n  verif", "│ NOT intact   │\n  verif"),
        GOOD_TRANSCRIPT.replace("copy: caught", "copy: NOT caught"),
        GOOD_TRANSCRIPT.replace("figures: reproduced", "figures: NOT reproduced"),
        GOOD_TRANSCRIPT.replace("2,623 → 2,134", "2,600 → 2,134"),
        GOOD_TRANSCRIPT.replace("flag for the reviewer legal-basis-vague", "no flag"),
    ],
)
def test_the_transcript_check_fails_on_a_broken_transcript(broken: str) -> None:
    check_transcript(GOOD_TRANSCRIPT)
    with pytest.raises(AssertionError):
        check_transcript(broken)


def test_the_demo_reports_what_went_wrong() -> None:
    outcome = DemoOutcome(
        workers={2024: 2600, 2025: 2134}, reported={2024: 2623, 2025: 2134},
        deliveries=[Delivery("legal-information", "am-mcs", "kz-mia", "pending", False, None)],
        logs=[LogVerdict("KZ", False, 1, 1, 1), LogVerdict("AM", True, 1, 1, 1)],
        tampered_copy_caught=False,
        channels={"leads": 2, "opened": "R1-L0001", "persons_asked": 3, "state_at_partner": None},
    )  # fmt: skip
    assert outcome.failures() == [
        "legal-information am-mcs → kz-mia: pending, not stored, receipt signed by nobody",
        "KZ's log does not verify",
        "the request opened from a channel lead did not reach Armenia's node",
        "the tampered copy of KZ's log verifies",
        "computed worker figures {2024: 2600, 2025: 2134} are not the report's",
    ]
    assert DemoOutcome(workers={2024: 1}, reported={2024: 1}).failures() == []


def test_too_few_persons_is_a_usage_error_not_a_bug(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "migrex", "demo", "--workspace", str(tmp_path / "ws"),
         "--persons", "2000"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "--persons" in result.stderr and "a bug" not in result.stderr
    assert not (tmp_path / "ws").exists()
