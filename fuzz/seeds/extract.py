#!/usr/bin/env python3
"""Writes fuzz seeds from the contract corpus (tests/envelopes/*.cassette).

Run from the repository root: python3 fuzz/seeds/extract.py
Files it writes are named cassette-*; the hand-made seeds beside them are left alone.
"""
import base64
import pathlib

root = pathlib.Path(__file__).resolve().parents[2]
seeds = root / "fuzz" / "seeds"


def message(lines):
    """(start, headers, body) of a cassette message given its lines."""
    start, rest = lines[0], lines[1:]
    blank = rest.index("") if "" in rest else len(rest)
    headers = dict(
        (l.split(":", 1)[0].strip().lower(), l.split(":", 1)[1].strip()) for l in rest[:blank]
    )
    body = "\n".join(rest[blank + 1:]).encode()
    if headers.get("x-cassette-body") == "base64":
        body = base64.b64decode(body)
    return start, headers, body


def write(target, name, data):
    directory = seeds / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"cassette-{name}").write_bytes(data)


for path in sorted((root / "tests" / "envelopes").glob("*.cassette")):
    text = path.read_text()
    lines = text.split("\n")
    protocol = next(l.split(":", 1)[1].strip() for l in lines if l.startswith("protocol:"))
    request_at, response_at = lines.index(">>> request"), lines.index("<<< response")
    _, _, request = message(lines[request_at + 1:response_at])
    _, _, response = message(lines[response_at + 1:])
    response = response.removesuffix(b"\n")
    stem = path.stem
    target = {"soap11": "decode_soap11", "soap12": "decode_soap12", "nvp": "decode_nvp"}[protocol]
    write(target, stem, response)
    write("contract_matcher", f"{stem}-request", request + b"\0" + request)
    write("contract_matcher", f"{stem}-exchange", request + b"\0" + response)
    write("cassette_parse", stem, text.encode())
