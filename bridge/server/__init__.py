"""The HTTP side: webhooks, health, metrics (FastAPI + uvicorn)."""
