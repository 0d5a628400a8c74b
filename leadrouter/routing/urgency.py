"""Score how urgently a lead needs a human: a level, a 0-100 score and the reasons why."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from leadrouter.routing import lexicon
from leadrouter.routing.lexicon import Term
from leadrouter.routing.severity import DSM_CRITERIA, count_criteria
from leadrouter.routing.vocabulary import URGENCY_LEVELS

# Score bands per level (inclusive); a score always lies in its level's band.
SCORE_BANDS: Mapping[str, tuple[int, int]] = {
    "low": (0, 24),
    "normal": (25, 59),
    "high": (60, 89),
    "critical": (90, 100),
}
# Where a level's score starts before points are added.
_BASE_SCORES = {"low": 10, "normal": 40, "high": 65, "critical": 90}

# How far back (in words) negations, cues and blockers reach.
_NEGATION_WINDOW = 3
_CUE_WINDOW = 3
_NOT_AFTER_WINDOW = 2

_TOKEN_PATTERN = re.compile(r"(?P<word>[^\W_]+(?:['’ʼ][^\W_]+)*)|(?P<stop>[.!?;:,()\n—–]+)")
# "OD", "OD'd", "ODed", "OD'ing", "ODs" (but not "odd").
_OD_PATTERN = re.compile(r"od(?:'d|'?ed|'?ing|'?s)?")


@dataclass(frozen=True)
class UrgencySignals:
    """Everything known about a lead that bears on its urgency."""

    texts: Sequence[str] = ()
    severity: str = "none"
    dsm_criteria: frozenset[str] = frozenset()
    substances: frozenset[str] = frozenset()
    source: str = "web_form"
    missed_call: bool = False
    abandoned_call: bool = False
    emergency_pressed: bool = False
    for_whom: str = "self"


@dataclass(frozen=True)
class Urgency:
    """A lead's urgency: level, score, reasons, and whether to show 911/988 guidance."""

    level: str
    score: int
    reasons: tuple[str, ...]
    emergency: bool
    crisis_line: str | None = None


@dataclass(frozen=True)
class TermMatch:
    """A lexicon term found in text, with the words as the person wrote them."""

    term: Term
    surface: str
    start: int
    end: int


@dataclass(frozen=True)
class _Token:
    word: str  # normalised
    start: int
    end: int
    clause: int


@dataclass(frozen=True)
class _Finding:
    """One piece of evidence: the lowest level it allows, points, and why."""

    level: str
    points: int
    reason: str


# --- Text matching ---------------------------------------------------------------


def normalize_word(word: str) -> str:
    """Lowercase, strip accents and apostrophes; every spelling of "OD'd" becomes "od"."""
    decomposed = unicodedata.normalize("NFKD", word)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = plain.casefold().replace("’", "'").replace("ʼ", "'")
    if _OD_PATTERN.fullmatch(folded):
        return "od"
    return folded.replace("'", "")


def _tokenize(text: str) -> list[_Token]:
    """Split text into normalised words, numbering clauses so negation stays local."""
    tokens: list[_Token] = []
    clause = 0
    for found in _TOKEN_PATTERN.finditer(text):
        if found.lastgroup == "stop":
            clause += 1
            continue
        word = normalize_word(found.group())
        if word in lexicon.CLAUSE_WORDS:
            clause += 1
        tokens.append(_Token(word, found.start(), found.end(), clause))
    return tokens


def edit_distance(a: str, b: str, limit: int) -> int:
    """Return the Damerau-Levenshtein (OSA) distance, or limit + 1 once it exceeds limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:  # no path can come back under the limit
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)


def _typo_allowance(expected: str, written: str) -> int:
    """Return how many typos to forgive: 0 under 6 letters, 1 from 6, 2 from 9."""
    shorter = min(len(expected), len(written))
    if shorter >= 9:
        return 2
    if shorter >= 6:
        return 1
    return 0


def words_match(expected: str, written: str, fuzzy: bool = True, max_typos: int = 2) -> bool:
    """Return whether a written word is the expected word, allowing small typos."""
    if expected == written:
        return True
    if not fuzzy or written in lexicon.NEAR_MISSES or expected[:1] != written[:1]:
        # Typos rarely hit the first letter; requiring it keeps "responsive" from
        # matching "unresponsive".
        return False
    allowance = min(_typo_allowance(expected, written), max_typos)
    return allowance > 0 and edit_distance(expected, written, allowance) <= allowance


def _phrase_end(tokens: Sequence[_Token], i: int, words: Sequence[str], fuzzy: bool) -> int | None:
    """Return the index after the phrase if it starts at token i, else None."""
    if i + len(words) <= len(tokens) and all(
        words_match(word, tokens[i + k].word, fuzzy) for k, word in enumerate(words)
    ):
        return i + len(words)
    # A one-word term split in two by the writer: "over dose", "sobre dosis". Only one
    # typo here: two real words glued together drift easily ("overdoes it").
    if len(words) == 1 and i + 1 < len(tokens) and tokens[i].word not in lexicon.NEAR_MISSES:
        joined = tokens[i].word + tokens[i + 1].word
        if words_match(words[0], joined, fuzzy, max_typos=1):
            return i + 2
    return None


def _words_before(tokens: Sequence[_Token], i: int, window: int) -> list[str]:
    """Return up to `window` words before token i in its clause, nearest first."""
    words = []
    for k in range(i - 1, max(i - window, 0) - 1, -1):
        if tokens[k].clause != tokens[i].clause:
            break
        words.append(tokens[k].word)
    return words


def _is_negated(tokens: Sequence[_Token], i: int) -> bool:
    """Return whether a negation shortly before token i denies what follows."""
    for word in _words_before(tokens, i, _NEGATION_WINDOW):
        if word in lexicon.UNCERTAINTY_WORDS:
            return False  # "not sure if he overdosed": doubt, not denial
        if word in lexicon.NEGATORS:
            return True
    return False


def _context_allows(term: Term, tokens: Sequence[_Token], start: int, end: int) -> bool:
    """Apply a term's cue, blocker and negation rules around a candidate match."""
    if term.needs_cue and not set(term.needs_cue) & set(_words_before(tokens, start, _CUE_WINDOW)):
        return False
    if term.not_after and set(term.not_after) & set(_words_before(tokens, start, _NOT_AFTER_WINDOW)):
        return False
    if term.not_before and end < len(tokens) and tokens[end].word in term.not_before:
        return False
    return not (term.negatable and _is_negated(tokens, start))


@functools.cache
def _index_by_initial(terms: tuple[Term, ...]) -> dict[str, list[tuple[Term, tuple[str, ...]]]]:
    """Group terms by the first letter of their first word (typos keep the first letter)."""
    index: dict[str, list[tuple[Term, tuple[str, ...]]]] = {}
    for term in terms:
        words = tuple(term.phrase.split())
        index.setdefault(words[0][0], []).append((term, words))
    return index


def find_terms(text: str, terms: tuple[Term, ...]) -> list[TermMatch]:
    """Find the lexicon terms in text, in order, skipping negated and overlapping ones."""
    if not text or not isinstance(text, str):
        return []
    tokens = _tokenize(text)
    index = _index_by_initial(terms)
    matches: list[TermMatch] = []
    covered_until = 0  # token index: words inside an earlier match are not matched again
    for i, token in enumerate(tokens):
        if i < covered_until:
            continue
        found = _longest_match_at(tokens, i, index.get(token.word[:1], ()))
        if found is not None:
            term, end = found
            start_char, end_char = token.start, tokens[end - 1].end
            matches.append(TermMatch(term, text[start_char:end_char], start_char, end_char))
            covered_until = end
    return matches


def _longest_match_at(
    tokens: Sequence[_Token], i: int, candidates: Iterable[tuple[Term, tuple[str, ...]]]
) -> tuple[Term, int] | None:
    """Return the longest term (and its end) that starts at token i and survives context."""
    best: tuple[Term, int] | None = None
    for term, words in candidates:
        end = _phrase_end(tokens, i, words, term.fuzzy)
        if end is None or (best is not None and end <= best[1]):
            continue
        if _context_allows(term, tokens, i, end):
            best = (term, end)
    return best


def find_emergency_matches(text: str) -> list[TermMatch]:
    """Find words of an emergency (overdose, not breathing, suicide, ...) in text."""
    return find_terms(text, lexicon.EMERGENCY_TERMS)


def find_emergency_terms(text: str) -> list[str]:
    """Return the emergency words found in text, as written, without repeats."""
    return list(dict.fromkeys(match.surface for match in find_emergency_matches(text)))


# --- Scoring ---------------------------------------------------------------------


def level_for_score(score: int) -> str:
    """Return the level whose band holds a 0-100 score."""
    for level in reversed(URGENCY_LEVELS):
        if score >= SCORE_BANDS[level][0]:
            return level
    return "low"


def _level_rank(level: str | None) -> int:
    return URGENCY_LEVELS.index(level) if level in URGENCY_LEVELS else -1


def _first_by_topic(matches: Iterable[TermMatch]) -> dict[str, TermMatch]:
    """Keep the first match of each topic, in text order."""
    firsts: dict[str, TermMatch] = {}
    for match in matches:
        firsts.setdefault(match.term.topic, match)
    return firsts


def _emergency_findings(matches: Sequence[TermMatch]) -> list[_Finding]:
    """Each emergency topic in the text makes the lead critical."""
    return [
        _Finding("critical", 5, f"Message mentions {lexicon.EMERGENCY_TOPICS[topic]} ('{m.surface}')")
        for topic, m in _first_by_topic(matches).items()
    ]


def _severity_findings(severity: str, criteria: frozenset[str]) -> list[_Finding]:
    """Severe use disorder is high urgency; moderate and mild add a few points."""
    floors = {"severe": ("high", 10), "moderate": ("normal", 10), "mild": ("normal", 5)}
    if severity not in floors:
        return []
    level, points = floors[severity]
    met = count_criteria(criteria)
    counted = f" ({met} of {len(DSM_CRITERIA)} criteria)" if met else ""
    return [_Finding(level, points, f"{severity.capitalize()} opioid use disorder{counted}")]


def _withdrawal_findings(criteria: frozenset[str], texts: Sequence[str]) -> list[_Finding]:
    """Active withdrawal, ticked or described, is at least high urgency."""
    findings = []
    if "withdrawal" in criteria:
        findings.append(_Finding("high", 8, "Withdrawal symptoms ticked on the checklist"))
    mentions = [m for text in texts for m in find_terms(text, lexicon.WITHDRAWAL_TERMS)]
    if mentions:
        surface = mentions[0].surface
        findings.append(_Finding("high", 8, f"Message mentions withdrawal ('{surface}')"))
    return findings


def _call_findings(signals: UrgencySignals) -> list[_Finding]:
    """A caller nobody spoke to needs a callback soon."""
    findings = []
    if signals.emergency_pressed:
        findings.append(_Finding("critical", 5, "Caller chose the emergency option"))
    if signals.abandoned_call:
        findings.append(_Finding("high", 6, "Caller hung up before reaching an advisor"))
    if signals.source == "voicemail":
        findings.append(_Finding("high", 4, "Caller left a voicemail"))
    elif signals.missed_call:
        findings.append(_Finding("high", 4, "Missed call: no advisor answered"))
    return findings


def _substance_findings(substances: frozenset[str], texts: Sequence[str]) -> list[_Finding]:
    """Fentanyl and heroin raise the score a little, without lifting the level past normal."""
    named = set(substances) & lexicon.HIGH_RISK_SUBSTANCES
    named |= {m.term.topic for t in texts for m in find_terms(t, lexicon.HIGH_RISK_SUBSTANCE_TERMS)}
    if not named:
        return []
    listed = " and ".join(sorted(named))
    return [_Finding("normal", 5, f"Uses {listed}, which raises the risk of overdose")]


def _info_only_finding(texts: Sequence[str]) -> _Finding | None:
    """Asking just for information, with nothing else going on, is low urgency."""
    mentions = [m for text in texts for m in find_terms(text, lexicon.INFO_ONLY_TERMS)]
    if not mentions:
        return None
    return _Finding("low", 0, f"Asks only for information ('{mentions[0].surface}')")


def _crisis_line(matches: Sequence[TermMatch], emergency_pressed: bool) -> str:
    """988 when the only emergency is suicidal talk; otherwise 911."""
    topics = {m.term.topic for m in matches}
    if topics and topics <= lexicon.SUICIDE_TOPICS and not emergency_pressed:
        return "988"
    return "911"


def _clean_texts(texts: Sequence[str] | str) -> list[str]:
    """Accept one string or a sequence, dropping empty and non-string entries."""
    if isinstance(texts, str):
        texts = (texts,)
    return [t for t in texts if isinstance(t, str) and t.strip()]


def score_urgency(signals: UrgencySignals) -> Urgency:
    """Score a lead: the strongest signal sets the level, every signal adds points."""
    texts = _clean_texts(signals.texts)
    criteria = frozenset(signals.dsm_criteria)
    emergency_matches = [m for text in texts for m in find_emergency_matches(text)]
    findings = [
        *_emergency_findings(emergency_matches),
        *_call_findings(signals),
        *_severity_findings(signals.severity, criteria),
        *_withdrawal_findings(criteria, texts),
        *_substance_findings(frozenset(signals.substances), texts),
    ]
    if not findings:
        info_only = _info_only_finding(texts)
        findings = [info_only] if info_only else []
    level = _pick_level(findings)
    low, high = SCORE_BANDS[level]
    score = max(low, min(high, _BASE_SCORES[level] + sum(f.points for f in findings)))
    ordered = sorted(findings, key=lambda f: -_level_rank(f.level))  # stable: text order kept
    emergency = level == "critical"
    crisis_line = _crisis_line(emergency_matches, signals.emergency_pressed) if emergency else None
    return Urgency(
        level=level,
        score=score,
        reasons=tuple(dict.fromkeys(f.reason for f in ordered)),
        emergency=emergency,
        crisis_line=crisis_line,
    )


def _pick_level(findings: Sequence[_Finding]) -> str:
    """Return the strongest finding's level, or normal when there is nothing to go on."""
    if not findings:
        return "normal"
    return max((f.level for f in findings), key=_level_rank)


# --- Merging ---------------------------------------------------------------------


def _field(obj: Any, name: str, default: Any = None) -> Any:
    """Read a field from an object or a mapping."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


_CRISIS_LINE_RANK = {None: 0, "988": 1, "911": 2}


def raise_only(old: Any, new: Urgency) -> Urgency:
    """Merge a new score into an old one: level, score and reasons only ever rise."""
    if old is None:
        return new
    old_level = _field(old, "level")
    level = old_level if _level_rank(old_level) > _level_rank(new.level) else new.level
    old_score = _field(old, "score") or 0
    # Keep the score inside the winning level's band even if the old record drifted.
    low, high = SCORE_BANDS[level]
    score = max(low, min(high, max(int(old_score), new.score)))
    reasons = tuple(dict.fromkeys([*(_field(old, "reasons") or ()), *new.reasons]))
    old_emergency = _field(old, "emergency")
    if old_emergency is None:  # records that never stored it: critical always meant emergency
        old_emergency = old_level == "critical"
    emergency = bool(old_emergency) or new.emergency
    old_line = _field(old, "crisis_line")
    line = max(old_line, new.crisis_line, key=lambda x: _CRISIS_LINE_RANK.get(x, 0))
    if emergency and line is None:
        line = "911"
    return Urgency(level, score, reasons, emergency, line if emergency else None)
