"""``runpod.api.queries.user``: the user query is RunPod cloud GraphQL (not included)."""
