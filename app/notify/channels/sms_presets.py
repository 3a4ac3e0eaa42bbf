"""Example SMS gateway configurations (documentation, not defaults).

``ESMS_VN_JSON`` follows eSMS.vn's published JSON API
(``SendMultipleMessage_V4_post_json``: ``ApiKey``, ``SecretKey``, ``Phone``,
``Content``, ``Brandname``, ``SmsType`` 2 = customer care; reply
``{"CodeResult": "100", "SMSID": ...}`` on success, other codes are refusals
such as 101 bad keys, 103 no balance, 104 brandname missing). Brandname
content must match a template the carrier approved, so fold to ASCII and keep
it to one segment. Copy it into the inventory and change phone and brandname.
"""

from __future__ import annotations

from typing import Any

ESMS_VN_JSON: dict[str, Any] = {
    "type": "sms",
    "name": "eSMS.vn brandname (example)",
    "phone": "0912345678",
    "url": "https://rest.esms.vn/MainService.svc/json/SendMultipleMessage_V4_post_json/",
    "method": "POST",
    "body_format": "json",
    "body": (
        '{"ApiKey": "{secret:ESMS_API_KEY}", "SecretKey": "{secret:ESMS_SECRET_KEY}", '
        '"Phone": "{phone}", "Content": "{text}", "Brandname": "HUNGYEN-DVC", '
        '"SmsType": "2", "IsUnicode": "0"}'
    ),
    "success_status": [200],
    "success_jsonpath": "$.CodeResult",
    "success_value": "100",
    "ascii_fold": True,
    "max_segments": 1,
}
