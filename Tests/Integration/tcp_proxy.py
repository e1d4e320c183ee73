"""A TCP proxy for tests that cut connections: `cut()` drops every proxied connection and refuses new ones
until `restore()`; `target` may be changed to point at another server (a "restarted" one)."""
import socket
import threading


class TCPProxy:
    def __init__(self, target_port):
        self.target_port = target_port
        self._listener = None
        self._connections = []
        self._lock = threading.Lock()
        self.port = None
        self._listen(0)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _listen(self, port):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        """Drops every connection (as a broken network would) and refuses new ones."""
        self._listener.close()
        with self._lock:
            connections, self._connections = self._connections, []
        for s in connections:
            try:
                s.shutdown(socket.SHUT_RDWR)  # wakes the pipe threads blocked in recv
            except OSError:
                pass
            s.close()

    def restore(self):
        self._listen(self.port)

    def close(self):
        self.cut()
