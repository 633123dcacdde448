"""``runpod.api.graphql``: RunPod's GraphQL endpoint is not available through pitstop."""

from __future__ import annotations

from typing import Any

from pitstop.errors import CloudApiUnavailable
from runpod.user_agent import USER_AGENT

HTTP_STATUS_UNAUTHORIZED = 401

__all__ = ["HTTP_STATUS_UNAUTHORIZED", "USER_AGENT", "run_graphql_query"]


def run_graphql_query(query: str, api_key: str | None = None) -> dict[str, Any]:
    """Raises CloudApiUnavailable (no request is sent)."""
    raise CloudApiUnavailable("api.graphql.run_graphql_query")
