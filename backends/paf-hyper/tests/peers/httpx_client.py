"""The interop request mix, sent by Python's httpx (HTTP/2 through the `h2` library).

Usage: httpx_client.py BASE_URL CA_FILE PAYLOAD_FILE OUT_DIR MODE
  MODE  http1       HTTP/1.1 only
        http2       HTTP/1.1 and HTTP/2 offered (ALPN picks over TLS)
        http2-only  HTTP/2 only: prior knowledge (h2c) on http:// URLs

All requests go through one httpx.Client, whose pool keeps the connection
alive. Prints one line per request (see interop.rs) and writes each response
body to OUT_DIR/NAME.body for the test to compare byte for byte.
"""

import os
import ssl
import sys

import httpx

MODES = {
    "http1": dict(http1=True, http2=False),
    "http2": dict(http1=True, http2=True),
    "http2-only": dict(http1=False, http2=True),
}


def main():
    base, ca_file, payload_file, out_dir, mode = sys.argv[1:6]
    with open(payload_file, "rb") as f:
        payload = f.read()
    verify = ssl.create_default_context(cafile=ca_file)
    requests = [
        ("hello", "GET", "/hello", None),
        ("echo", "POST", "/echo", payload),
        ("blob", "GET", "/blob", None),
        ("hello-again", "GET", "/hello", None),
    ]
    with httpx.Client(verify=verify, timeout=10.0, **MODES[mode]) as client:
        for name, method, path, body in requests:
            response = client.request(method, base + path, content=body)
            with open(os.path.join(out_dir, name + ".body"), "wb") as f:
                f.write(response.content)
            print(
                f"request={name} status={response.status_code}"
                f" version={response.http_version}"
                f" x-peer={response.headers.get('x-peer', '-')}"
                f" x-version={response.headers.get('x-version', '-')}",
                flush=True,
            )


if __name__ == "__main__":
    main()
