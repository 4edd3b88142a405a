"""A FastAPI service using one shared WeComClient: ``uvicorn examples.fastapi_app.app:app``."""
