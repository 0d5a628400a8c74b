"""The team board's live line: callers holding now, the longest wait, advisors on a live call."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

from leadrouter.extensions import db
from leadrouter.intake.calls import callers_in_line
from leadrouter.models import Call, utcnow
from leadrouter.routing.calls import caller_gone_after
from leadrouter.team.queries import line_now
from tests.factories import make_advisor, make_lead
from tests.telephony.test_call_holding import holding_call, talking
from tests.telephony.test_twiml import said
from tests.test_metrics import scrape, value

_calls = iter(range(1, 10_000))


def add_call(**fields) -> Call:
    now = utcnow()
    values = {"call_sid": f"CAline{next(_calls)}", "started_at": now - timedelta(minutes=2)}
    values.update(fields)
    call = Call(**values)
    db.session.add(call)
    db.session.flush()
    return call


class _Marks(HTMLParser):
    """Which advisors' rows carry the live-call chip, and the holding count."""

    def __init__(self):
        super().__init__()
        self.row = None
        self.live: set[int] = set()
        self.holding = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-advisor" in attrs:
            self.row = int(attrs["data-advisor"])
        if "data-live-call" in attrs:
            self.live.add(self.row)
        if "data-holding" in attrs:
            self.holding = int(attrs["data-holding"])


def marks(html: str) -> _Marks:
    parser = _Marks()
    parser.feed(html)
    return parser


def test_the_board_shows_callers_holding_the_longest_wait_and_who_is_on_a_call(manager_client, session):
    now = utcnow()
    ana, ben = make_advisor(name="Ana Line"), make_advisor(name="Ben Line")
    lead = make_lead()
    # Holding: two callers, the first since 95 s ago.
    add_call(lead_id=lead.id, hold_started_at=now - timedelta(seconds=95))
    add_call(hold_started_at=now - timedelta(seconds=30))
    # Not holding: answered after holding, hung up while holding, never held.
    add_call(
        hold_started_at=now - timedelta(seconds=300), answered_at=now, advisor_id=ben.id, outcome="answered"
    )
    add_call(hold_started_at=now - timedelta(seconds=200), ended_at=now, outcome="abandoned")
    add_call()
    # Live: Ana accepted a call a minute ago; Ben's earlier call has ended.
    add_call(advisor_id=ana.id, answered_at=now - timedelta(minutes=1), outcome="answered")
    add_call(advisor_id=ben.id, answered_at=now - timedelta(minutes=9), ended_at=now - timedelta(minutes=3))
    session.commit()

    line = line_now(utcnow())
    assert line.holding == 2
    assert 95 <= line.longest_wait_seconds < 100
    assert set(line.on_call_since) == {ana.id, ben.id}  # Ben is on the call he took from hold

    page = manager_client.get("/team").get_data(as_text=True)
    assert marks(page).holding == 2 and "2 callers holding now" in page and "longest wait 1 min 3" in page
    assert marks(page).live == {ana.id, ben.id}
    # The board's live refresh serves the same: the rows and the line.
    assert marks(manager_client.get("/team/rows").get_data(as_text=True)).live == {ana.id, ben.id}
    fragment = manager_client.get("/team/line").get_data(as_text=True)
    assert marks(fragment).holding == 2


def test_nobody_holding_says_so(manager_client, session):
    make_advisor(name="Cleo Quiet")
    session.commit()
    fragment = manager_client.get("/team/line").get_data(as_text=True)
    assert marks(fragment).holding == 0 and "Nobody is holding now." in fragment
    assert line_now(utcnow()).longest_wait_seconds is None


def test_advisors_cannot_read_the_line(advisor_client):
    assert advisor_client.get("/team/line").status_code == 403


def test_the_live_call_time_is_in_the_report_time_zone_like_the_rest_of_the_board(manager_client, session):
    # The board says "Times in UTC." (REPORT_TIMEZONE in the tests): an advisor's own zone
    # would put a Pacific time next to the UTC ones.
    ana = make_advisor(name="Ana Zone", timezone="America/Los_Angeles")
    answered = utcnow() - timedelta(minutes=1)
    add_call(advisor_id=ana.id, answered_at=answered, outcome="answered")
    session.commit()

    page = manager_client.get("/team").get_data(as_text=True)

    assert "Times in UTC." in page
    since = answered.strftime("%-I:%M %p")
    assert f"on a live call since {since} UTC" in page
    assert "PST" not in page and "PDT" not in page


def test_one_caller_holding_is_said_in_the_singular_in_english_and_spanish(manager_client, session):
    add_call(hold_started_at=utcnow() - timedelta(seconds=20))
    session.commit()

    english = manager_client.get("/team/line").get_data(as_text=True)
    spanish = manager_client.get("/team/line?lang=es").get_data(as_text=True)

    assert "1 caller holding now" in english and "1 callers" not in english
    assert "1 persona en espera ahora" in spanish


def test_a_caller_the_line_dropped_is_not_holding_on_the_board_nor_in_metrics(
    app, client, manager_client, session
):
    """One bound for "gone": the line, the team board and /metrics agree on who is holding."""
    ana = make_advisor(name="Ana Line", regions=["TX"], phone="+15122060931")
    talking(client, ana, "+15125550171")
    lost, _ = holding_call(client, "+15125550172")
    kept, _ = holding_call(client, "+15125550173")
    bound = caller_gone_after(app.config["CALL_MAX_WAIT_SECONDS"], app.config["HOLD_ANNOUNCE_SECONDS"])
    now = utcnow()
    # No status callback ever came for the lost caller: their call started longer ago than the
    # bound. The kept caller's started just inside it (the hold loop has not dropped them yet).
    lost.call.started_at = lost.call.hold_started_at = now - bound - timedelta(seconds=5)
    kept.call.started_at = kept.call.hold_started_at = now - bound + timedelta(seconds=30)
    session.commit()

    # The line: a new caller is second, after the kept caller; the lost one is not in it.
    third, hold_doc = holding_call(client, "+15125550174")
    assert "number 2 in line" in said(hold_doc)
    assert [facts.id for facts in callers_in_line(utcnow())] == [kept.lead.id, third.lead.id]

    # The team board counts the same two callers, the kept one's wait the longest.
    line = line_now(utcnow())
    assert line.holding == 2
    assert bound.total_seconds() - 30 <= line.longest_wait_seconds < bound.total_seconds()
    assert marks(manager_client.get("/team").get_data(as_text=True)).holding == 2
    assert marks(manager_client.get("/team/line").get_data(as_text=True)).holding == 2

    # And so does /metrics.
    samples = scrape(client)
    assert value(samples, "leadrouter_callers_holding") == 2
    assert (
        bound.total_seconds() - 30
        <= value(samples, "leadrouter_longest_hold_seconds")
        < bound.total_seconds()
    )
