"""The report languages (one tuple, so parsing a task list does not load the renderer)."""

LANGUAGES: tuple[str, ...] = ("en", "nb")
