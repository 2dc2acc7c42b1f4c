"""``GET /b/{code}``: the owner's ballot page for a phone (docs/design.md §4, docs/credentials.md).

The page is small and self-contained: inline CSS, one plain script
(``/static/ballot.js``), the meeting embedded as JSON. The credential code stays
in the URL fragment and never reaches the server; the phone derives the key,
signs the canonical ballot and posts it to ``/api/v1/meetings/{code}/ballots``.
"""

from __future__ import annotations

from typing import Any, Final

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from markupsafe import Markup

from votes.service import meetings
from votes.service.context import ServiceContext
from web.auth import SKIP_SESSION
from web.i18n import Language
from web.pages import embed_json, local_time, page_language

__all__ = ["ballot_page"]

_TEXT: Final[dict[Language, dict[str, str]]] = {
    "zh-CN": {
        "page_title": "业主投票",
        "other_lang": "English",
        "closes": "投票截止：",
        "bulletin": "公示栏",
        "noscript": "本页需要启用 JavaScript 才能投票。也可以填写纸质选票，或委托他人代为投票。",
        "unsupported_title": "此浏览器无法在本机签名选票",
        "unsupported_body": (
            "请用较新的浏览器打开本页（Chrome/安卓浏览器 137 以上、iPhone Safari 17 以上、"
            "Firefox 129 以上），并确认网址以 https:// 开头。也可以向业主委员会领取纸质选票，"
            "或书面委托他人代为投票。"
        ),
        "not_open": "本次会议当前不在投票期内，无法投票。请查看公示栏了解会议进度。",
        "code_label": "请输入凭证信上的 27 位凭证码（扫描二维码会自动填入）",
        "code_button": "确认凭证",
        "instructions": "请对每一项议题作出选择，核对无误后提交。提交后将显示回执编号。",
        "submit": "提交选票",
        "receipt_title": "选票已记录",
        "tracking_label": "回执编号（请抄下或截图保存）：",
        "receipt_note": "可在公示栏用此编号核对您的选票已被记录且未被更改。",
        "log_index": "记录序号",
        "ballot_hash": "选票摘要",
        "code_bad_char": "凭证码含无效字符 “{ch}”（第 {pos} 个字符）",
        "code_length": "凭证码应为 27 个字符，实际 {n} 个",
        "code_check": "凭证码校验失败，请检查是否输错",
        "deriving": "正在准备签名密钥……",
        "sending": "正在签名并提交……",
        "failed": "提交失败",
        "network": "网络错误，选票未提交，请稍后重试",
        "missing_choice": "第 {n} 项议题尚未选择",
        "abstain_alone": "第 {n} 项：选择“弃权”时不能再选其他候选人",
        "too_many": "第 {n} 项最多可选 {seats} 人",
        "seats": "最多选 {seats} 人",
        "agree": "同意",
        "oppose": "反对",
        "abstain": "弃权",
        "receipt_mismatch": "警告：回执中的选票摘要与本机计算不符，请联系业主委员会。",
    },
    "en": {
        "page_title": "Owner ballot",
        "other_lang": "中文",
        "closes": "Voting closes:",
        "bulletin": "Bulletin",
        "noscript": "This page needs JavaScript to vote. You can also vote on paper or by proxy.",
        "unsupported_title": "This browser cannot sign a ballot on this device",
        "unsupported_body": (
            "Open this page in a recent browser (Chrome/Android 137+, iPhone Safari 17+, "
            "Firefox 129+) at an https:// address. You can also ask the owners' committee for a "
            "paper ballot, or authorise a proxy in writing."
        ),
        "not_open": "This meeting is not open for voting now. See the bulletin for its progress.",
        "code_label": "Enter the 27-character code from your credential letter "
        "(scanning the QR code fills it in)",
        "code_button": "Use this code",
        "instructions": "Choose on every motion, check, then submit. You will get a receipt code.",
        "submit": "Submit ballot",
        "receipt_title": "Your ballot is recorded",
        "tracking_label": "Receipt code (write it down or take a screenshot):",
        "receipt_note": "On the bulletin you can check with this code that your ballot is "
        "recorded and unchanged.",
        "log_index": "Log index",
        "ballot_hash": "Ballot hash",
        "code_bad_char": "the code contains an invalid character “{ch}” (position {pos})",
        "code_length": "the code must have 27 characters, got {n}",
        "code_check": "the code's check failed; please re-check the code",
        "deriving": "Preparing the signing key…",
        "sending": "Signing and sending…",
        "failed": "Sending failed",
        "network": "Network error: the ballot was not sent; please try again",
        "missing_choice": "Motion {n}: nothing chosen yet",
        "abstain_alone": "Motion {n}: abstain cannot be combined with candidates",
        "too_many": "Motion {n}: choose at most {seats}",
        "seats": "choose at most {seats}",
        "agree": "Agree",
        "oppose": "Oppose",
        "abstain": "Abstain",
        "receipt_mismatch": "Warning: the receipt's ballot hash differs from this phone's; "
        "please contact the owners' committee.",
    },
}


@get(
    "/b/{code:str}",
    include_in_schema=False,
    opt={SKIP_SESSION: True},
    cache_control=None,
)
async def ballot_page(
    request: Request[Any, Any, Any], ctx: NamedDependency[ServiceContext], code: FromPath[str]
) -> Template:
    language = page_language(request)
    meeting = await meetings.get_meeting(ctx, code)
    page_data = {
        "lang": language,
        "meeting": {
            "code": meeting.code,
            "id": str(meeting.id),
            "title": meeting.title,
            "state": meeting.state.value,
            "roster_root": meeting.roster_root,
            "motions": [
                {
                    "id": motion.id,
                    "title": motion.title,
                    "type": motion.type.value,
                    "seats": motion.seats,
                    "candidates": motion.candidates,
                }
                for motion in meeting.motions
            ],
        },
        "api": {"ballots": f"/api/v1/meetings/{meeting.code}/ballots"},
        "text": _TEXT[language],
    }
    return Template(
        template_name="ballot.html",
        context={
            "lang": language,
            "other_lang": "zh-CN" if language == "en" else "en",
            "t": _TEXT[language],
            "meeting": meeting,
            "close_local": local_time(meeting.close_at, language),
            "bulletin_url": f"/bulletin/{meeting.code}?lang={language}",
            "page_data": Markup(embed_json(page_data)),
            "script_url": "/static/ballot.js",
        },
        headers={
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": (
                "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; "
                "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
                "frame-ancestors 'none'"
            ),
        },
    )
