"""http_raw - raw HTTP/1.1 over a socket, for what urllib will not send.

send() writes bytes exactly as given and reads every response the server
writes until it closes the connection or goes quiet; parse_responses() splits
them into (status, headers, body) and fails on anything that is not a
well-formed HTTP/1.1 response with a Content-Length."""
import json
import socket


class Malformed(AssertionError):
    """The server's bytes are not a well-formed HTTP response."""


def send(port, data, quiet=1.0, total=10.0):
    """Sends data on a new connection; returns (bytes read, closed_by_server)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=total)
    out = b""
    closed = False
    try:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(quiet)
        while True:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            out += chunk
    finally:
        sock.close()
    return out, closed


def parse_responses(data, head_first=False):
    """[(status, {lower-case name: value}, body bytes)] for every response in data.
    head_first: the first (final) response answers a HEAD request, so it has no body."""
    responses = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            raise Malformed(f"no end of head in {data[:200]!r}")
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or parts[0] != b"HTTP/1.1" or not parts[1].isdigit() or len(parts[1]) != 3:
            raise Malformed(f"bad status line {lines[0]!r}")
        headers = {}
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip():
                raise Malformed(f"bad header line {line!r}")
            headers[name.decode("latin-1").lower()] = value.strip().decode("latin-1")
        status = int(parts[1])
        # h2o's fixed 400 for an unparsable head carries its body even after HEAD.
        fixed_400 = status == 400 and rest.startswith(b"Bad Request") and headers.get("content-length") == "11"
        if head_first and status >= 200 and not fixed_400:
            head_first = False
            responses.append((status, headers, b""))
            data = rest
            continue
        if "content-length" not in headers:
            if 100 <= status < 200 or status in (204, 304):
                responses.append((status, headers, b""))
                data = rest
                continue
            raise Malformed(f"no Content-Length in {head!r}")
        length = int(headers["content-length"])
        if len(rest) < length:
            raise Malformed(f"body shorter than its Content-Length in {head!r}")
        responses.append((status, headers, rest[:length]))
        data = rest[length:]
    return responses


def json_error(headers, body):
    """The error object of a JSON error answer, or raise Malformed."""
    if not headers.get("content-type", "").startswith("application/json"):
        raise Malformed(f"not JSON: {headers.get('content-type')!r} {body[:200]!r}")
    parsed = json.loads(body)
    # Details may ride beside "error" (usage ingest lists its rejected events).
    if not (isinstance(parsed, dict) and "error" in parsed and isinstance(parsed["error"], dict)
            and isinstance(parsed["error"].get("code"), str) and parsed["error"]["code"]
            and isinstance(parsed["error"].get("message"), str) and parsed["error"]["message"]):
        raise Malformed(f"not the error shape: {body[:200]!r}")
    return parsed["error"]


def is_h2o_fixed_400(status, headers, body):
    """h2o's own answer to a head it cannot parse, written without a response
    object (the one plain-text answer left; docs/internals/bounds.md)."""
    return status == 400 and body == b"Bad Request" and headers.get("content-type", "").startswith("text/plain")
