"""Shared pieces of the service tests, which run the real `feedmerge run` binary:
- FeedServer: a local HTTP server on 127.0.0.1 (never anything else) whose /grow/NAME.xml feeds
  gain one new item on every request, /static/NAME.xml stays the same and /stall/NAME.xml holds
  the response until release() is called;
- NotifyListener: the systemd side of sd_notify, a Unix datagram socket collecting messages;
- write_config / start_daemon: a config in a temporary folder and the daemon under it.
Every wait is for a condition, with a generous bound so that a broken daemon fails the test
instead of hanging it."""
import http.server
import os
import socket
import subprocess
import threading
import time

BOUND = 60.0  # seconds: upper bound for any awaited condition


class Checks:
    """Counts named checks; a failed one prints its detail. `summary()` is the closing line
    ("N passed, N failed") and the exit status."""

    def __init__(self):
        self.passed = 0
        self.failures = []

    def __call__(self, name, ok, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failures.append(name)
            print(f"FAIL {name}: {detail}")

    def summary(self):
        print(f"{self.passed} passed, {len(self.failures)} failed")
        return 1 if self.failures else 0


def wait_until(predicate, timeout=BOUND, interval=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def rss(name, guids):
    items = "".join(
        f"<item><title>{name} item {g}</title><link>http://example.org/{name}/{g}</link>"
        f"<guid>{name}-{g}</guid><description>Body of {name} {g}</description></item>"
        for g in guids)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{name}</title><link>http://example.org/{name}</link>{items}</channel></rss>")


class FeedServer:
    def __init__(self, window=20, backlog=0):
        self.lock = threading.Condition()
        self.served = {}     # feed name -> every guid ever served
        self.requests = {}   # path -> count
        self.counter = {}    # grow feed -> next item number
        self.window = window
        self.backlog = backlog  # a grow feed's first response already lists this many items
        self.stalled = 0     # requests currently held by /stall/
        self.released = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split("?")[0]
                with server.lock:
                    server.requests[path] = server.requests.get(path, 0) + 1
                    server.lock.notify_all()
                name = path.rsplit("/", 1)[-1].removesuffix(".xml")
                if path.startswith("/stall/"):
                    with server.lock:
                        server.stalled += 1
                        server.lock.notify_all()
                    server.released.wait()
                    with server.lock:
                        server.stalled -= 1
                    body = rss(name, [1]).encode()
                elif path.startswith("/grow/"):
                    with server.lock:
                        n = server.counter.get(name, server.backlog) + 1
                        server.counter[name] = n
                        guids = list(range(max(1, n - server.window + 1), n + 1))
                        server.served.setdefault(name, set()).update(f"{name}-{g}" for g in guids)
                    body = rss(name, guids).encode()
                elif path.startswith("/static/"):
                    body = rss(name, [1, 2, 3]).encode()
                    with server.lock:
                        server.served.setdefault(name, set()).update(f"{name}-{g}" for g in (1, 2, 3))
                else:
                    self.send_error(404)
                    return
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the daemon went away mid-response: expected in these tests

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a killed daemon resets its connections: expected here

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def count(self, path):
        with self.lock:
            return self.requests.get(path, 0)

    def wait_count(self, path, n, timeout=BOUND):
        with self.lock:
            return self.lock.wait_for(lambda: self.requests.get(path, 0) >= n, timeout)

    def wait_stalled(self, n=1, timeout=BOUND):
        with self.lock:
            return self.lock.wait_for(lambda: self.stalled >= n, timeout)

    def release(self):
        self.released.set()

    def close(self):
        self.release()
        self.httpd.shutdown()
        self.httpd.server_close()


class NotifyListener:
    """Receives what the daemon sends to $NOTIFY_SOCKET, in order, with arrival times."""

    def __init__(self, folder):
        self.path = os.path.join(folder, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages = []  # (monotonic time, {field: value}, raw)
        self.cond = threading.Condition()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            raw = data.decode("utf-8", "replace")
            fields = dict(line.split("=", 1) for line in raw.split("\n") if "=" in line)
            with self.cond:
                self.messages.append((time.monotonic(), fields, raw))
                self.cond.notify_all()

    def snapshot(self):
        with self.cond:
            return list(self.messages)

    def wait_for(self, predicate, start=0, timeout=BOUND):
        """Index of the first message from `start` on whose fields satisfy predicate, or None."""
        def find():
            for i in range(start, len(self.messages)):
                if predicate(self.messages[i][1]):
                    return i
            return None
        with self.cond:
            found = [None]

            def check():
                found[0] = find()
                return found[0] is not None
            self.cond.wait_for(check, timeout)
            return found[0]

    def close(self):
        self.running = False
        self.sock.close()


def free_port():
    """A port nothing listens on now, for a daemon whose address a test must know."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(folder, feeds, extra="", interval="2s", name="feedmerge.toml"):
    """A config polling `feeds` (URLs) every `interval`, its database in folder/state."""
    # An ephemeral port: tests run in parallel, and 8080 may be taken.
    server = [] if "[server]" in extra else ["[server]", 'listen = "127.0.0.1:0"', ""]
    lines = server + [
        "[storage]", 'database = "feedmerge.db"', "",
        "[poll]", f'interval = "{interval}"', 'min_interval = "1s"', 'timeout = "30s"', "",
        "[log]", 'level = "info"', "",
        extra,
    ]
    for url in feeds:
        lines += ["[[feed]]", f'url = "{url}"', ""]
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path


def start_daemon(binary, config, folder, notify=None, watchdog_usec=None, env=None, log=None):
    environment = dict(os.environ)
    for key in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "INVOCATION_ID"):
        environment.pop(key, None)
    environment["STATE_DIRECTORY"] = os.path.join(folder, "state")
    if notify is not None:
        environment["NOTIFY_SOCKET"] = notify.path
    if watchdog_usec is not None:
        environment["WATCHDOG_USEC"] = str(watchdog_usec)
    environment.update(env or {})
    return subprocess.Popen([binary, "run", "--config", config], cwd=folder, env=environment,
                            stdout=subprocess.DEVNULL,
                            stderr=log if log is not None else subprocess.DEVNULL)


def database(folder):
    return os.path.join(folder, "state", "feedmerge.db")
