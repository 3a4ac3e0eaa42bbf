"""An inventory with two communes, one agent each, and checks from several vantages."""

from __future__ import annotations

AGENTS_TEXT = """\
version: 1
province:
  code: "33"
  name: Hưng Yên
  defaults: {interval: 30}
agents:
  - name: hy-12337-lan
    units: ["12337"]
    offline_after: 90s
  - name: hy-12364-lan
    units: ["12364"]
    offline_after: 1m
units:
  - code: "12337"
    name: Hoàng Hoa Thám
    kind: commune
    defaults: {location: hy-12337-lan}
    services:
      - kind: commune_centre
        name: TTPVHCC Hoàng Hoa Thám
        checks:
          - {name: queue, kind: http, options: {url: "http://127.0.0.1:9/q"}}
          - name: web
            kind: http
            locations: [central, hy-12337-lan]
            quorum: all
            options: {url: "http://127.0.0.1:9/web"}
          - {name: portal, kind: http, location: central, options: {url: "http://127.0.0.1:9/p"}}
  - code: "12364"
    name: Tiên Lữ
    kind: commune
    services:
      - kind: commune_centre
        name: TTPVHCC Tiên Lữ
        checks:
          - name: queue
            kind: http
            location: hy-12364-lan
            options: {url: "http://127.0.0.1:9/q2", headers: {Authorization: "Bearer x"}}
"""
