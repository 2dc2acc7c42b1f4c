"""``GET /bulletin/{code}``: the public bulletin of a meeting (公示栏).

Shows the meeting, its motions, turnout (live while voting), the result once
tallied, and links to the verifiable record (checkpoint, bundle, roster) and
a form to look up a ballot's inclusion proof by its hash.
"""

from __future__ import annotations

from typing import Any, Final

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from markupsafe import Markup

from votes.enums import MeetingState
from votes.service import meetings, record, turnout
from votes.service.context import ServiceContext
from votes.service.errors import ServiceError
from votes.service.schemas import ResultOut, TurnoutOut
from web.auth import SKIP_SESSION
from web.i18n import Language
from web.pages import embed_json, local_time, page_language

__all__ = ["bulletin_page"]

_STATE: Final[dict[MeetingState, tuple[str, str]]] = {
    MeetingState.DRAFT: ("草稿", "draft"),
    MeetingState.SUBMITTED: ("已提交审核", "submitted"),
    MeetingState.APPROVED: ("已审核", "approved"),
    MeetingState.NOTICE: ("公告期", "notice"),
    MeetingState.OPEN: ("投票中", "open for voting"),
    MeetingState.CLOSED: ("投票已截止", "closed"),
    MeetingState.TALLIED: ("已计票（异议期）", "tallied (objection period)"),
    MeetingState.CERTIFIED: ("街道办已确认", "certified"),
    MeetingState.RETURNED: ("街道办已退回", "returned"),
    MeetingState.PUBLISHED: ("结果已公布", "published"),
    MeetingState.ARCHIVED: ("已归档", "archived"),
}

_TEXT: Final[dict[Language, dict[str, str]]] = {
    "zh-CN": {
        "title": "公示栏",
        "other_lang": "English",
        "convener": "召集人",
        "state": "状态",
        "notice_at": "公告时间",
        "voting": "投票期",
        "vote_here": "前往投票页（需凭证信）",
        "motions": "议题",
        "item": "民法典第二百七十八条第",
        "turnout": "参与情况",
        "provisional": "实时，非最终结果",
        "ballots": "已收选票",
        "scope": "范围",
        "whole_estate": "全体业主",
        "voted_heads": "已投人数",
        "voted_area": "已投面积",
        "result": "表决结果",
        "not_certified": "待街道办确认",
        "passed": "通过",
        "not_passed": "未通过",
        "heads": "人数",
        "area": "面积（m²）",
        "totals": "总数",
        "participating": "参与表决",
        "agree": "同意",
        "oppose": "反对",
        "abstain": "弃权",
        "invalid": "无效",
        "elected": "当选",
        "record": "可核查的公开记录",
        "checkpoint": "最新签名检查点",
        "bundle": "下载核查包",
        "bundle_note": "（可用 votes verify 离线核查全部选票与计票）",
        "roster": "表决名册（房号与面积，不含姓名）",
        "check_ballot": "核对我的选票：输入回执中的选票摘要（64 位十六进制）",
        "check": "查询",
    },
    "en": {
        "title": "Bulletin",
        "other_lang": "中文",
        "convener": "Convener",
        "state": "State",
        "notice_at": "Notice published",
        "voting": "Voting period",
        "vote_here": "Go to the ballot page (needs your credential letter)",
        "motions": "Motions",
        "item": "Civil Code art. 278 item",
        "turnout": "Turnout",
        "provisional": "live, not the final result",
        "ballots": "Ballots received",
        "scope": "Scope",
        "whole_estate": "whole estate",
        "voted_heads": "Members voted",
        "voted_area": "Area voted",
        "result": "Result",
        "not_certified": "awaiting the subdistrict's certification",
        "passed": "passed",
        "not_passed": "not passed",
        "heads": "Heads",
        "area": "Area (m²)",
        "totals": "Total",
        "participating": "Participating",
        "agree": "Agree",
        "oppose": "Oppose",
        "abstain": "Abstain",
        "invalid": "Invalid",
        "elected": "Elected",
        "record": "Verifiable public record",
        "checkpoint": "Latest signed checkpoint",
        "bundle": "Download the verification bundle",
        "bundle_note": "(check every ballot and the tally offline with votes verify)",
        "roster": "Roster (unit numbers and areas, no names)",
        "check_ballot": "Check my ballot: the ballot hash from the receipt (64 hex digits)",
        "check": "Look up",
    },
}

_WITH_TURNOUT = frozenset({MeetingState.OPEN, MeetingState.CLOSED, MeetingState.NOTICE})
_WITH_RESULT = frozenset(
    {
        MeetingState.TALLIED,
        MeetingState.CERTIFIED,
        MeetingState.RETURNED,
        MeetingState.PUBLISHED,
        MeetingState.ARCHIVED,
    }
)


@get("/bulletin/{code:str}", include_in_schema=False, opt={SKIP_SESSION: True})
async def bulletin_page(
    request: Request[Any, Any, Any], ctx: NamedDependency[ServiceContext], code: FromPath[str]
) -> Template:
    language = page_language(request)
    meeting = await meetings.get_meeting(ctx, code)
    figures: TurnoutOut | None = None
    outcome: ResultOut | None = None
    if meeting.state in _WITH_TURNOUT:
        figures = await turnout.turnout(ctx, code)
    if meeting.state in _WITH_RESULT:
        try:
            outcome = await record.result(ctx, code)
        except ServiceError:
            outcome = None
    api = f"/api/v1/meetings/{meeting.code}"
    live = (
        Markup(embed_json({"stream": f"{api}/turnout/stream"}))
        if meeting.state == MeetingState.OPEN
        else None
    )
    zh, en = _STATE[meeting.state]
    return Template(
        template_name="bulletin.html",
        context={
            "lang": language,
            "other_lang": "zh-CN" if language == "en" else "en",
            "t": _TEXT[language],
            "meeting": meeting,
            "state_text": en if language == "en" else zh,
            "times": {
                "notice": local_time(meeting.notice_at, language),
                "open": local_time(meeting.open_at, language),
                "close": local_time(meeting.close_at, language),
            },
            "turnout": figures,
            "result": outcome,
            "api": api,
            "live": live,
        },
        headers={
            "Content-Security-Policy": (
                "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; "
                "connect-src 'self'; img-src 'self'; base-uri 'none'; "
                "form-action 'self'; frame-ancestors 'none'"
            ),
        },
    )
