"""All the examples in one app, served by the demo."""

from fastapi import FastAPI

from examples import app_wide, decorator, rooms, token_guard

app = FastAPI()
app.include_router(rooms.router)
app.include_router(token_guard.router)
app.include_router(decorator.router)
app.mount("/app-wide", app_wide.app)
