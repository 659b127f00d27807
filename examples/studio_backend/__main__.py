"""``python -m examples.studio_backend``: serve the app with uvicorn on HOST:PORT (settings.py)."""

from __future__ import annotations


def main() -> None:
    """Read the settings from the environment, build the app and serve it until interrupted."""
    import uvicorn

    from .app import create_app
    from .settings import Settings

    settings = Settings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port)


if __name__ == "__main__":
    main()
