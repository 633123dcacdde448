"""``runpod.api.queries.endpoints``: the endpoints query is RunPod cloud GraphQL (not included)."""
