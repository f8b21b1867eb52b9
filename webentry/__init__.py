"""The web application for transcription staff (Flask): ``create_app(config)``.

See ``docs/web.md`` for running it and ``webentry.app`` for what it is made of.
"""


def create_app(config: dict | None = None):
    from webentry.app import create_app as make

    return make(config)


__all__ = ["create_app"]
