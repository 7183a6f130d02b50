"""HTTP fetching: the only package of newswatch that talks to the network.

Modules: ``client`` (the Fetcher), ``transport`` (address checks in the socket layer), ``body``
(bounded decoding). One :class:`Fetcher` per unit of work (a source poll, a batch of pages).
It enforces:

- http/https only, at most ``max_redirects`` hops, each hop checked again (scheme, address, loop);
- every connection goes to an address vetted by :class:`~pipeline.addresses.AddressPolicy`; the
  check sits in the socket layer (``transport``), so redirects, keep-alive reconnects and DNS
  answers that change between check and use cannot slip past it;
- connect and total timeouts; bodies streamed and capped after content decoding, which is done
  in bounded steps (``body``);
- at most ``per_host_concurrency`` requests per host and ``concurrency`` in all;
- conditional GET with stored validators (304 is a normal answer);
- 429/503 with a Retry-After within ``retry_after_max`` are retried after that wait;
- robots.txt for article pages, cached per host for the fetcher's lifetime; an unreachable
  robots.txt (5xx, 429, timeout) means "fetch nothing there" and fails the page with the
  transient reason of the robots fetch, so the page is tried again in a later run;
- environment proxies are ignored: a proxy would make the address check meaningless.
"""

from pipeline.fetch.client import FEED_ACCEPT, PAGE_ACCEPT, Fetcher, retry_after_seconds

__all__ = ["FEED_ACCEPT", "PAGE_ACCEPT", "Fetcher", "retry_after_seconds"]
