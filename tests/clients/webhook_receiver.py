"""A webhook receiver for the integration tests (crates/prelaunch/tests/it/webhooks.rs).

Verifies every delivery with the `standardwebhooks` package, as a receiver following the specification would,
and answers 400 to one that does not verify. Of the deliveries that verify, the first `--fail-first` are
answered 500 (to make the sender retry), the rest 204. For each delivery that verifies it also checks that the
same delivery with its body or its timestamp changed in flight would be rejected.

Prints `listening <port>` once ready. `GET /log` answers every request received, in order, as JSON.
"""

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


def rejects(webhook, body, headers):
    try:
        webhook.verify(body, headers)
    except WebhookVerificationError:
        return True
    return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--secret", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--always-fail", action="store_true")
    args = parser.parse_args()
    webhook = Webhook(args.secret)
    log = []
    lock = threading.Lock()
    verified_count = [0]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def answer(self, status, body=b""):
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            if body:
                self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path != "/log":
                return self.answer(404)
            with lock:
                body = json.dumps(log).encode()
            self.answer(200, body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            entry = {
                "path": self.path,
                "headers": {k: headers.get(k) for k in ("webhook-id", "webhook-timestamp", "webhook-signature", "content-type")},
                "body": body.decode("utf-8", "replace"),
            }
            try:
                payload = webhook.verify(body, headers)
                entry["verified"] = True
                entry["payload"] = payload
            except WebhookVerificationError as error:
                entry["verified"] = False
                entry["error"] = str(error)
            if entry["verified"]:
                changed_body = body.replace(b'"data"', b'"Data"', 1)
                entry["tampered_body_rejected"] = rejects(webhook, changed_body, headers)
                changed_time = dict(headers)
                changed_time["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) - 1)
                entry["tampered_timestamp_rejected"] = rejects(webhook, body, changed_time)
                with lock:
                    verified_count[0] += 1
                    n = verified_count[0]
                status = 500 if args.always_fail or n <= args.fail_first else 204
            else:
                status = 400
            entry["status"] = status
            with lock:
                log.append(entry)
            self.answer(status)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"listening {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
