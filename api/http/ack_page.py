"""The small page behind an acknowledgement link (Chinese, for a manager's phone), and the
same outcome as JSON for a client that asks for it with ``Accept: application/json``.

Every value is HTML-escaped. The page is neither cached nor framed, and sends no referrer,
since its URL carries the token.
"""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.http.errors import error_body
from telemetry.alert_store import AlertView

SEVERITY_TEXT = {"critical": "严重", "warning": "警告", "info": "提示"}
STATUS_TEXT = {
    "active": "未确认",
    "acknowledged": "已确认",
    "cleared": "已解除",
    "resolved": "已处理",
}
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}
_STYLE = (
    "body{font-family:sans-serif;max-width:32rem;margin:1.5rem auto;padding:0 1rem;"
    "line-height:1.6}button{font-size:1.2rem;padding:.6rem 2rem}"
)


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _document(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def alert_page(
    alert: AlertView,
    shelter_name: str,
    *,
    tz: str,
    action: str | None,
    note: str = "",
    status: int = 200,
) -> HTMLResponse:
    """The alert's particulars; a button posting to ``action`` when given."""
    since = alert.condition_since.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
    rows = [
        ("工程", f"{shelter_name}（{alert.shelter_code}）"),
        ("位置", f"{alert.zone} 传感器 {alert.sensor_id}".strip()),
        ("告警", alert.message),
        ("级别", SEVERITY_TEXT.get(alert.severity, alert.severity)),
        ("状态", STATUS_TEXT.get(alert.status, alert.status)),
        ("首次超限", since),
    ]
    if alert.acknowledged_by:
        rows.append(("确认人", alert.acknowledged_by))
    body = "".join(f"<p>{html.escape(k)}：{html.escape(v)}</p>" for k, v in rows)
    if note:
        body += f"<p><strong>{html.escape(note)}</strong></p>"
    if action is not None:
        body += (
            f'<form method="post" action="{html.escape(action, quote=True)}">'
            '<button type="submit">确认告警</button></form>'
        )
    return HTMLResponse(_document("告警确认", body), status, headers=HEADERS)


def refusal(request: Request, status: int, code: str, message: str, text: str) -> Response:
    """An error as JSON (``{"error": …}``) or as a page showing ``text``."""
    if wants_json(request):
        return JSONResponse(error_body(code, message), status, headers=HEADERS)
    body = f"<p>{html.escape(text)}</p>"
    return HTMLResponse(_document("告警确认", body), status, headers=HEADERS)
