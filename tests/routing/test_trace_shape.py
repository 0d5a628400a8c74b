"""The stored trace: full detail for advisors a rule considered, ids for the rest."""

from __future__ import annotations

import json

from leadrouter.routing.engine import decide
from tests.routing.test_engine import NOW, advisor, lead


def test_advisors_no_rule_reached_are_grouped_by_reason():
    roster = [
        advisor(1, regions=("TX",)),
        advisor(2, regions=("CA",)),
        advisor(3, regions=("TX",), status="offline"),
        advisor(4, regions=("CA",)),
        advisor(5, regions=("NY",)),
    ]
    decision = decide(lead(region="TX"), roster, NOW)

    data = json.loads(json.dumps(decision.to_dict()))

    assert [c["advisor_id"] for c in data["candidates"]] == [1, 3]
    assert data["candidates"][1]["reasons"] == ["offline"]
    assert data["not_considered"] == [{"reason": "does not cover TX", "advisor_ids": [2, 4, 5]}]
    assert data["explanation"] == decision.explain()
    assert "3 not considered (does not cover TX)" in data["explanation"]
    # The decision itself still traces every advisor.
    assert sorted(c.advisor_id for c in decision.candidates) == [1, 2, 3, 4, 5]
