"""Article search in Chinese and English.

Chinese has no spaces between words, so PostgreSQL's text parser sees a whole
sentence as one "word". We segment with jieba when an article is saved and
store a weighted tsvector (title and tags A, summary B, body C) built from the
segmented text with the ``english`` configuration, which stems the English
words and leaves the Chinese ones as they are. Each meaningful Chinese
character is also stored on its own with the lowest weight (D), so that a query
worded differently from the article (不冷 / 制冷, 排不出去 / 排水) still meets
it. A query is segmented the same way; its words and characters are OR-ed, so
that the ranking, not an all-words match, decides.

Ranking is the costly part: on 10,000 articles a common term (水, 空调) matches
thousands of them. ``search`` therefore looks first only at articles holding
one of the query's rarer terms, ranked on all its terms, and widens only when
that finds too few (see ``search`` and docs/knowledge-search.md).

Several approaches are kept side by side so that ``manage.py kb_search_eval``
can compare them on the labelled set (knowledge/eval_data.py); ``CHOSEN`` is
the one the site uses.
"""

import logging
import re
import time
import unicodedata

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import BooleanField, F, FloatField, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce

logger = logging.getLogger(__name__)

TS_CONFIG = "english"
MAX_QUERY_CHARS = 200
MAX_TERMS = 12
MAX_CHAR_TERMS = 6
# ``search`` first matches only terms found in less than the first share of
# articles, then less than the second, then all terms (shares from ANALYZE).
SHARE_TIERS = (0.05, 0.25)
TERM_STATS_SECONDS = 300

# Words that say nothing about the problem: question words and fillers in
# Chinese, which jieba keeps as words, and the English stop words of
# PostgreSQL's ``english`` configuration that show up in questions.
ZH_STOP_WORDS = frozenset(
    """
    的 了 吗 呢 吧 啊 呀 么 嘛 哦 和 与 及 或 在 是 有 没 没有 不 也 都 就 还 又 很 太 我 我们 你 您 他 她 它
    家 家里 这 那 这个 那个 什么 怎么 怎么办 怎么样 怎样 如何 为什么 为何 多少 几 哪 哪里 哪个 是否 能 能不能
    可以 可不可以 要 需要 想 请问 请 一下 一直 一个 有点 有些 总是 老是 突然 会 会不会 时候 时 后 之后 以后
    上 下 里 中 个 把 被 让 给 对 从 到 用 过 着 等 啦 怎 么样 问题 情况 一 二 好 还是 但是 但 而且 然后
""".split()
)
EN_STOP_WORDS = frozenset(
    """
    a an the is are was were be been am do does did i me my we our you your it its he she they them this that
    these those of in on at to for from by with about after before into out up down off over under again
    and or but if then so than too very can will just should now how what when where which who why whom
    there here all any both each few more most other some such no nor not only own same s t don
""".split()
)
# Single characters that carry no meaning on their own.
ZH_STOP_CHARS = frozenset("的了吗呢吧啊呀么嘛哦和与及或在是有没不也都就还又很太我你您他她它这那什怎几哪要想请一个上下里中把被让给对从到用过着等啦好会能可以")

# Words jieba's general dictionary would split or miss. Product names are
# written the same way by customers and articles, so a query's characters that
# belong to one add only noise and are not searched on their own.
PRODUCT_WORDS = (
    "热水器", "燃气热水器", "电热水器", "洗衣机", "滚筒洗衣机", "波轮洗衣机", "空调", "挂机", "柜机", "内机", "外机",
    "室内机", "室外机", "冰箱", "冷藏室", "冷冻室", "洗碗机", "油烟机", "燃气灶", "微波炉", "遥控器",
)
DOMAIN_WORDS = (
    "上门费", "上门", "保修", "保修期", "延保", "故障码", "错误码", "制冷", "制热", "漏水", "排水", "脱水", "滤网",
    "冷媒", "加氟", "雪种", "改约", "预约", "发票", "工单", "派单", "配件", "完工报告", "漏电", "异响", "结霜",
    "除霜", "点火", "打火", "水垢", "镁棒", "清洗", "移机", "拆机", "安装费", "空开", "跳闸",
)

# English words and numbers (model numbers such as kfr-35gw included), or runs
# of Chinese characters. Terms are made only of these, so they are safe inside
# single quotes in a tsquery.
_TOKEN_RE = re.compile(r"[0-9a-z]+(?:[-.][0-9a-z]+)*|[\u3400-\u9fff\uf900-\ufaff]+", re.IGNORECASE)
_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

_jieba = None
_term_stats: dict = {"at": None, "freq": {}}
_stems: dict[str, str] = {}


def _get_jieba():
    global _jieba
    if _jieba is None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        for word in (*PRODUCT_WORDS, *DOMAIN_WORDS):
            jieba.add_word(word)
        _jieba = jieba
    return _jieba


def load_segmenter() -> None:
    """Load jieba and its dictionary now: about 4 s of CPU and tens of MB, which the first request
    that segments Chinese text (a technician's job page, its article suggestions; triage on a new
    order) would otherwise pay in each web process. ``config/wsgi.py`` calls it at start."""
    _get_jieba()


# -- text to terms ----------------------------------------------------------------------


def normalise(text: str) -> str:
    """Full-width to half-width (NFKC), lower case."""
    return unicodedata.normalize("NFKC", text or "").lower()


def tokens(text: str) -> list[str]:
    """Words of ``text``: English words and numbers as they are, Chinese runs segmented by jieba.

    For Chinese both the words and their parts are kept (``cut_for_search``:
    洗衣机 gives 洗衣, 洗衣机), so that a query and an article that chose
    different word lengths still meet.
    """
    out: list[str] = []
    for match in _TOKEN_RE.finditer(normalise(text)):
        piece = match.group(0)
        if _CJK_RE.match(piece):
            out.extend(w for w in _get_jieba().cut_for_search(piece) if w.strip())
        else:
            out.append(piece)
    return out


def cjk_chars(text: str) -> list[str]:
    """The distinct meaningful Chinese characters of ``text``, in order of first appearance."""
    seen: dict[str, None] = {}
    for char in _CJK_RE.findall(normalise(text)):
        if char not in ZH_STOP_CHARS:
            seen.setdefault(char, None)
    return list(seen)


def segment(text: str) -> str:
    """``text`` as space-separated words, ready for ``to_tsvector``."""
    return " ".join(tokens(text))


def query_terms(q: str) -> list[str]:
    """The distinct meaningful words of a search query, at most ``MAX_TERMS``."""
    seen: list[str] = []
    for word in tokens((q or "")[:MAX_QUERY_CHARS]):
        if word not in ZH_STOP_WORDS and word not in EN_STOP_WORDS and word not in seen:
            seen.append(word)
    # A single Chinese character is mostly noise (坏, 修 ...) unless it is all we have.
    meaningful = [w for w in seen if not (len(w) == 1 and _CJK_RE.match(w))]
    return (meaningful or seen)[:MAX_TERMS]


def search_terms(q: str, *, chars: bool = True) -> list[str]:
    """The query's words and, with ``chars``, up to MAX_CHAR_TERMS of its characters.

    Characters of product names in the query (空调 gives 空 and 调) are left
    out: the product name itself already matches, and on their own those
    characters only widen the match to unrelated words (空间, 调整).
    """
    terms = query_terms(q)
    if chars:
        product_chars = {c for w in terms for p in PRODUCT_WORDS if w in p for c in w}
        extra = [c for c in cjk_chars((q or "")[:MAX_QUERY_CHARS]) if c not in terms and c not in product_chars]
        terms += extra[:MAX_CHAR_TERMS]
    return terms


# -- the stored search column ---------------------------------------------------------------


def document_parts(*, title: str, summary: str, body: str, tags: list[str]) -> dict[str, str]:
    """The segmented text of each weighted part of an article."""
    return {
        "A": segment(" ".join([title, *tags])),
        "B": segment(summary),
        "C": segment(body),
        "D": " ".join(cjk_chars(" ".join([title, summary, body]))),
    }


def refresh_vectors(items: list[tuple[int, dict[str, str]]]) -> None:
    """Write ``search_vector`` for ``(article_id, document_parts)`` pairs, one statement per 500.

    Used by the service for one article and by ``kb_reindex`` and the benchmark
    for many.
    """
    if not items:
        return
    sql = (
        "UPDATE knowledge_article AS a SET search_vector = "
        f"setweight(to_tsvector('{TS_CONFIG}', v.a), 'A') || "
        f"setweight(to_tsvector('{TS_CONFIG}', v.b), 'B') || "
        f"setweight(to_tsvector('{TS_CONFIG}', v.c), 'C') || "
        "setweight(to_tsvector('simple', v.d), 'D') "
        "FROM (VALUES {rows}) AS v(id, a, b, c, d) WHERE a.id = v.id"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(items), 500):
            chunk = items[start : start + 500]
            params: list = []
            for article_id, parts in chunk:
                params += [article_id, parts["A"], parts["B"], parts["C"], parts["D"]]
            rows = ", ".join(["(%s::bigint, %s, %s, %s, %s)"] * len(chunk))
            cursor.execute(sql.replace("{rows}", rows), params)


# -- how common each term is ----------------------------------------------------------------


def term_frequencies() -> dict[str, float]:
    """Share of articles containing each frequent lexeme, from PostgreSQL's statistics.

    ANALYZE (run by autovacuum) keeps the most common elements of the tsvector
    column with their frequencies; reading them costs one small query, cached
    for TERM_STATS_SECONDS per process. Empty before the first ANALYZE, and
    then every term counts as rare.
    """
    now = time.monotonic()
    if _term_stats["at"] is not None and now - _term_stats["at"] < TERM_STATS_SECONDS:
        return _term_stats["freq"]
    freq: dict[str, float] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats "
            "WHERE schemaname = current_schema() AND tablename = 'knowledge_article' AND attname = 'search_vector'"
        )
        row = cursor.fetchone()
    if row and row[0]:
        freq = dict(zip(row[0], row[1]))
    _term_stats.update(at=now, freq=freq)
    return freq


def forget_term_frequencies() -> None:
    """Read the statistics again on the next search (after ANALYZE, in tests and the evaluation)."""
    _term_stats.update(at=None, freq={})


def _lexemes(terms: list[str]) -> dict[str, str]:
    """The lexeme PostgreSQL stores for each term (English words stemmed: leaking -> leak).

    Chinese words and characters are their own lexemes under the english
    configuration; English stems are asked once per process and remembered.
    """
    missing = [t for t in terms if t not in _stems and not _CJK_RE.match(t)]
    if missing:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT t, (SELECT min(lexeme) FROM unnest(to_tsvector('{TS_CONFIG}', t))) "
                "FROM unnest(%s::text[]) AS t",
                [missing],
            )
            if len(_stems) > 50_000:
                _stems.clear()
            _stems.update({t: lexeme or t for t, lexeme in cursor.fetchall()})
    return {t: _stems.get(t, t) for t in terms}


def term_shares(terms: list[str]) -> dict[str, float]:
    """For each term, the share of articles that contain it (0 for terms rarer than ANALYZE keeps)."""
    freq = term_frequencies()
    if not freq:
        return {t: 0.0 for t in terms}
    lexemes = _lexemes(terms)
    return {t: freq.get(lexemes[t], 0.0) for t in terms}


def rarer_terms(terms: list[str], shares: dict[str, float], max_share: float) -> list[str]:
    """The terms in less than ``max_share`` of articles; if there are none, the rarest."""
    rare = [t for t in terms if shares[t] < max_share]
    if not rare:
        lowest = min(shares[t] for t in terms)
        rare = [t for t in terms if shares[t] <= lowest]
    return rare


# -- the approaches compared by kb_search_eval -------------------------------------------------


def _nothing(qs: QuerySet) -> QuerySet:
    return qs.none().annotate(rank=Value(0.0, output_field=FloatField()))


def _raw_or(terms: list[str]) -> str:
    return " | ".join(f"'{t}'" for t in terms)


def tsquery_for(q: str) -> SearchQuery | None:
    """The query the chosen approach ranks with (None when ``q`` has no meaningful word)."""
    terms = search_terms(q)
    return SearchQuery(_raw_or(terms), search_type="raw", config=TS_CONFIG) if terms else None


def ranked_matches(qs: QuerySet, *, rank_terms: list[str], match_terms: list[str]) -> QuerySet:
    """Articles of ``qs`` holding any of ``match_terms``, ranked on all of ``rank_terms``."""
    ranked = SearchQuery(_raw_or(rank_terms), search_type="raw", config=TS_CONFIG)
    matched = ranked if match_terms == rank_terms else SearchQuery(
        _raw_or(match_terms), search_type="raw", config=TS_CONFIG
    )
    return qs.filter(search_vector=matched).annotate(
        rank=SearchRank(F("search_vector"), ranked, normalization=Value(1))
    )


def search_simple_raw(qs: QuerySet, q: str) -> QuerySet:
    """(a) Full-text search with the 'simple' configuration on the raw text.

    The query is split into words as PostgreSQL's parser would do (on spaces
    and punctuation); a Chinese sentence stays one long word.
    """
    words = [w for w in _TOKEN_RE.findall(normalise(q)) if w][:MAX_TERMS]
    if not words:
        return _nothing(qs)
    query = None
    for word in words:
        sq = SearchQuery(word, search_type="plain", config="simple")
        query = sq if query is None else query | sq
    vector = (
        SearchVector("title", weight="A", config="simple")
        + SearchVector("summary", weight="B", config="simple")
        + SearchVector("body", weight="C", config="simple")
    )
    return qs.annotate(raw_vector=vector).filter(raw_vector=query).annotate(rank=SearchRank(F("raw_vector"), query))


def search_trigram(qs: QuerySet, q: str) -> QuerySet:
    """(c) pg_trgm: how well the query's trigrams match the title and summary."""
    text = normalise(q)[:MAX_QUERY_CHARS].strip()
    if not text:
        return _nothing(qs)
    score = RawSQL("word_similarity(%s, lower(knowledge_article.title || ' ' || knowledge_article.summary))", (text,))
    return qs.annotate(rank=Cast(score, FloatField())).filter(rank__gt=0.1)


def search_jieba_trigram(qs: QuerySet, q: str, *, chars: bool = False) -> QuerySet:
    """(d) jieba full-text rank plus pg_trgm title similarity, for near-misses and typos.

    An article matches if either finds it; the trigram score (0..1) is scaled
    down so that a full-text match usually decides.
    """
    text = normalise(q)[:MAX_QUERY_CHARS].strip()
    if not text:
        return _nothing(qs)
    terms = search_terms(q, chars=chars)
    trigram = Cast(RawSQL("word_similarity(%s, lower(knowledge_article.title))", (text,)), FloatField())
    trigram_match = RawSQL("%s <%% lower(knowledge_article.title)", (text,), output_field=BooleanField())
    if not terms:
        return qs.filter(trigram_match).annotate(rank=trigram)
    query = SearchQuery(_raw_or(terms), search_type="raw", config=TS_CONFIG)
    rank = Coalesce(SearchRank(F("search_vector"), query, normalization=Value(1)), Value(0.0)) + trigram * Value(0.2)
    return qs.filter(Q(search_vector=query) | Q(trigram_match)).annotate(rank=rank)


# (b) jieba approaches: name -> whether single Chinese characters are searched too.
# They run in tiers (``search``); the others are one query each.
JIEBA_APPROACHES = {"jieba": False, "jieba+chars": True}
OTHER_APPROACHES = {
    "simple_raw": search_simple_raw,
    "trigram": search_trigram,
    "jieba+trigram": search_jieba_trigram,
    "jieba+chars+trigram": lambda qs, q: search_jieba_trigram(qs, q, chars=True),
}
APPROACHES = ("simple_raw", "trigram", "jieba", "jieba+chars", "jieba+trigram", "jieba+chars+trigram")

# Chosen on the labelled set and the held-out queries; see docs/knowledge-search.md.
CHOSEN = "jieba+chars"


def search(qs: QuerySet, q: str, *, limit: int, approach: str | None = None, prefer: tuple = ()) -> list:
    """The best ``limit`` articles of ``qs`` for the query ``q``, best first.

    ``prefer`` are order_by terms that come before the rank (e.g. the reader's
    service type first).

    The jieba approaches run in tiers: first only the articles that hold one of
    the query's rarer terms (in less than 5% of articles, else the rarest),
    ranked on all its terms; if that finds fewer than ``limit``, those with a
    term in less than 25%; then all that hold any term (the plain OR search).
    Each tier is a superset of the one before and ranked the same way. A
    common term alone is weak evidence, so a good answer is rarely outside the
    first tier, which ranks hundreds of rows instead of thousands. Tiers that
    would match the same terms as the one before are skipped; an empty tier
    costs an index look-up.
    """
    order = (*prefer, "-rank", "-id")
    name = approach or CHOSEN
    if name not in JIEBA_APPROACHES:
        return list(OTHER_APPROACHES[name](qs, q).order_by(*order)[:limit])
    terms = search_terms(q, chars=JIEBA_APPROACHES[name])
    if not terms:
        return []
    shares = term_shares(terms)
    tried: list[list[str]] = []
    for max_share in (*SHARE_TIERS, None):
        match = terms if max_share is None else rarer_terms(terms, shares, max_share)
        if match in tried:
            continue
        tried.append(match)
        found = list(ranked_matches(qs, rank_terms=terms, match_terms=match).order_by(*order)[:limit])
        if len(found) >= limit or match == terms:
            return found
    return found  # pragma: no cover (the last tier matches all terms)
