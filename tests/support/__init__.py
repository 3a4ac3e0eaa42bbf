"""Shared test helpers: real loopback servers (HTTP(S), SMTP, DNS, TCP), loopback
stand-ins for the SaaS APIs the channels call, sample data and waiting helpers.

- ``http``: ``ScriptedHTTP``, one scripted HTTP/1.1 server for every test
- ``tls``: a private CA (trustme) and server certificates
- ``dns``: a zone served over UDP and TCP (dnslib)
- ``net``: free/closed ports and a TCP black hole
- ``smtp``: an aiosmtpd mailbox
- ``saas``: Telegram, Zalo OA, eSMS.vn and webhook far ends (their wire formats)
- ``notes``: a realistic ``Notification``
- ``tools``: external tools (promtool, amtool, …): skip locally, fail on CI
- ``wait``: ``until`` — poll a condition with a deadline
"""
