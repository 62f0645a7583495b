"""The request body the README shows is one the node accepts, so the example cannot rot."""

from __future__ import annotations

import json
import re
from pathlib import Path

from migrex.agreements import load_agreements
from migrex.casework.messages import PersonInquiry

ROOT = Path(__file__).parents[3]


def test_the_readme_person_inquiry_is_valid_under_the_agreement() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", readme, flags=re.S)
    inquiries = [json.loads(block) for block in blocks if '"persons"' in block]
    assert len(inquiries) == 1
    inquiry = PersonInquiry.model_validate(inquiries[0])
    agreement = load_agreements([ROOT / "agreements" / "kz-am-2024.toml"])["kz-am-2024"]
    assert inquiry.purpose in agreement.purposes
    profile = agreement.profiles[agreement.purposes[inquiry.purpose].profile]
    assert set(inquiry.requested_fields) <= set(profile.fields)
