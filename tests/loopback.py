"""Plain HTTP from the tests to the servers they start on 127.0.0.1.

httpx and httpx2 build a TLS context for every client they make (and `httpx.post()` makes a client per
call): ~18 ms of CPU reading the CA bundle, which a request to http://127.0.0.1 never uses, and which the
suite paid a few hundred times. Here one context (`TLS`) serves the tests' own clients in a process, and
`request` / `get` / `post` send through one client that keeps no idle connection, so that a request never
lands on a connection to a server an earlier test stopped.
"""

from __future__ import annotations

import ssl

import httpx

TLS = ssl.create_default_context()

_CLIENT = httpx.Client(verify=TLS, limits=httpx.Limits(max_keepalive_connections=0))
request = _CLIENT.request
get = _CLIENT.get
post = _CLIENT.post
