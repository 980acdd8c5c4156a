# A deliberately vulnerable service: it trusts a role header the client sends.
import http.server
import os
import sys

FLAG = open(sys.argv[1]).read().strip()
os.remove(sys.argv[1])


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/admin":
            if self.headers.get("X-Role") == "admin":
                self._send(200, FLAG)
            else:
                self._send(403, "administrators only (role checked from the X-Role header)")
        else:
            self._send(200, "welcome; see /admin")

    def _send(self, status, text):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", 8080), Handler).serve_forever()
