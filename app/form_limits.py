"""Which of the request limits a 413 hit: the body (MAX_CONTENT_LENGTH), one form field
(MAX_FORM_MEMORY_SIZE) or the number of form parts (MAX_FORM_PARTS). Werkzeug raises the same bare
RequestEntityTooLarge for all three, so the request counts the multipart delimiters it passes to the
parser, and `which_limit` reads the count after the fact."""
from __future__ import annotations

from flask import Flask, Request
from werkzeug.formparser import FormDataParser


class _DelimiterCounter:
    """A read-through stream that counts occurrences of b"--" + boundary (a part starts after each but
    the last), including ones split across reads."""

    def __init__(self, stream, boundary: bytes):
        self._stream, self._mark, self._tail, self.count, self.size = stream, b"--" + boundary, b"", 0, 0

    def read(self, *args) -> bytes:
        data = self._stream.read(*args)
        self.size += len(data)
        if self._mark != b"--":
            window = self._tail + data
            self.count += window.count(self._mark) - self._tail.count(self._mark)
            self._tail = window[-(len(self._mark) - 1):]
        return data

    def __getattr__(self, name):
        return getattr(self._stream, name)


class _CountingParser(FormDataParser):
    counter: _DelimiterCounter | None = None

    def parse(self, stream, mimetype, content_length, options=None):
        if mimetype == "multipart/form-data":
            boundary = (options or {}).get("boundary", "").encode("ascii", "replace")
            stream = self.counter = _DelimiterCounter(stream, boundary)
        return super().parse(stream, mimetype, content_length, options)


class CountingRequest(Request):
    form_data_parser_class = _CountingParser
    form_parser: _CountingParser | None = None

    def make_form_data_parser(self) -> FormDataParser:
        self.form_parser = super().make_form_data_parser()
        return self.form_parser


def which_limit(app: Flask, request: Request) -> str:
    """The message of a 413 answer, naming the limit that was hit."""
    body_limit = app.config["MAX_CONTENT_LENGTH"]
    counter = getattr(getattr(request, "form_parser", None), "counter", None)
    length = request.content_length
    if counter is None or (length or counter.size) > body_limit:
        return (f"the request body is larger than the {body_limit // 1_000_000} MB limit "
                f"(MAX_CONTENT_LENGTH, {body_limit:,} bytes)")
    parts = app.config["MAX_FORM_PARTS"]
    if counter.count > parts:  # more delimiters than parts allowed: the part count was the limit hit
        return f"the form has more than MAX_FORM_PARTS ({parts:,}) parts"
    memory = app.config["MAX_FORM_MEMORY_SIZE"]
    return f"a form field (not a file) is larger than MAX_FORM_MEMORY_SIZE ({memory:,} bytes)"
