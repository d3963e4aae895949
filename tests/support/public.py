"""The public modules: tests/test_docs_site.py checks their names are in the API reference, tests/test_public_names.py
that nothing else is public."""

PUBLIC = [
    "fastapi_ws_reject",
    "fastapi_ws_reject.asyncapi",
    "fastapi_ws_reject.guards",
    "fastapi_ws_reject.policy",
    "fastapi_ws_reject.pytest_plugin",
    "fastapi_ws_reject.redis_backend",
    "fastapi_ws_reject.testing",
    "fastapi_ws_reject.uvicorn_log_filter",
]
