"""An OpenAI-compatible HTTP server over a local HF checkpoint on CPU (127.0.0.1 by default).

``POST /v1/completions`` (with ``"echo": true, "logprobs": 0, "max_tokens": 0``: the prompt's
token log-probabilities, for log-likelihood scoring), ``POST /v1/chat/completions`` (both with ``"stream": true`` as
server-sent events, one token per chunk, usage in the last chunk) and ``GET /v1/models``. It is
the demo's real target for the latency harness and for distillation teachers; production
serving is TensorRT-LLM (``trtllm-serve``), which speaks the same protocol.

It binds to loopback unless told otherwise, and refuses any other address without an API key.
With a key, every request must carry ``Authorization: Bearer <key>`` (401 otherwise). The key
comes from an environment variable named on the command line, never from the command line.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from serving.generation import LoadedModel, generate, load, prompt_logprobs


def chat_prompt(messages: list[dict]) -> str:
    return "".join(f"{m.get('role', 'user')}: {m.get('content', '')}\n" for m in messages) + "assistant:"


class EndpointConfigError(ValueError):
    pass


def is_loopback(host: str) -> bool:
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


class _Handler(BaseHTTPRequestHandler):
    model: LoadedModel
    api_key: str | None = None

    def log_message(self, *args) -> None:  # requests are not logged: prompts may hold anything
        pass

    def _authorized(self) -> bool:
        if self.api_key is None:
            return True
        given = self.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {self.api_key}".encode()):
            return True
        data = json.dumps({"error": {"message": "missing or wrong API key (Authorization: Bearer ...)", "type": "invalid_request_error"}}).encode()
        self.send_response(401)
        self.send_header("WWW-Authenticate", "Bearer")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return False

    def _json(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if not self._authorized():
            return
        if self.path.rstrip("/") == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": self.model.name, "object": "model", "owned_by": "irm"}]})
        else:
            self._json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        if not self._authorized():
            return
        chat = self.path.rstrip("/") == "/v1/chat/completions"
        if not chat and self.path.rstrip("/") != "/v1/completions":
            self._json(404, {"error": {"message": f"no route {self.path}"}})
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            prompt = chat_prompt(body["messages"]) if chat else body["prompt"]
        except (ValueError, KeyError) as err:
            self._json(400, {"error": {"message": f"bad request: {err}"}})
            return
        ids = self.model.encode(prompt)
        echo = not chat and bool(body.get("echo")) and body.get("logprobs") is not None
        max_tokens = int(body["max_tokens"]) if echo and body.get("max_tokens") is not None else int(body.get("max_tokens") or 16)
        if len(ids) + max_tokens > self.model.max_positions:
            self._json(400, {"error": {"message": f"prompt ({len(ids)} tokens) + max_tokens ({max_tokens}) exceeds the model's "
                                                   f"{self.model.max_positions} positions"}})
            return
        rid, created = f"cmpl-{uuid.uuid4().hex[:12]}", int(time.time())
        kind = "chat.completion" if chat else "text_completion"
        if echo and max_tokens == 0:
            self._json(200, {"id": rid, "object": kind, "created": created, "model": self.model.name,
                             "choices": [{"index": 0, "text": prompt, "finish_reason": "length", "logprobs": self._echo(ids)}],
                             "usage": {"prompt_tokens": len(ids), "completion_tokens": 0, "total_tokens": len(ids)}})
            return
        tokens = generate(self.model, ids, max_tokens, float(body.get("temperature") or 0.0), int(body.get("seed") or 0))
        if body.get("stream"):
            self._stream(rid, created, kind, chat, tokens, len(ids))
            return
        out = list(tokens)
        text = self.model.decode(out)
        choice = {"index": 0, "finish_reason": "length" if len(out) == max_tokens else "stop"}
        choice.update({"message": {"role": "assistant", "content": text}} if chat else {"text": text})
        self._json(200, {"id": rid, "object": kind, "created": created, "model": self.model.name, "choices": [choice],
                         "usage": {"prompt_tokens": len(ids), "completion_tokens": len(out), "total_tokens": len(ids) + len(out)}})

    def _echo(self, ids: list[int]) -> dict:
        """OpenAI's legacy completions logprobs for the prompt: tokens, their log-probabilities and
        character offsets into the prompt text."""
        offsets = [len(self.model.decode(ids[:i])) for i in range(len(ids))]
        pieces = [self.model.decode(ids[:i + 1])[offsets[i]:] for i in range(len(ids))]
        return {"tokens": pieces, "token_logprobs": prompt_logprobs(self.model, ids), "text_offset": offsets, "top_logprobs": None}

    def _stream(self, rid: str, created: int, kind: str, chat: bool, tokens, prompt_tokens: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        emitted, text_so_far = [], ""

        def send(payload: dict) -> None:
            self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
            self.wfile.flush()

        for token in tokens:
            emitted.append(token)
            text = self.model.decode(emitted)
            delta, text_so_far = text[len(text_so_far):], text
            choice = {"index": 0, "finish_reason": None}
            choice.update({"delta": {"content": delta}} if chat else {"text": delta})
            send({"id": rid, "object": kind + ".chunk", "created": created, "model": self.model.name, "choices": [choice]})
        send({"id": rid, "object": kind + ".chunk", "created": created, "model": self.model.name,
              "choices": [{"index": 0, "finish_reason": "stop", **({"delta": {}} if chat else {"text": ""})}],
              "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(emitted), "total_tokens": prompt_tokens + len(emitted)}})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


@dataclass
class Endpoint:
    server: ThreadingHTTPServer
    thread: threading.Thread

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve(checkpoint: str, host: str = "127.0.0.1", port: int = 0, name: str | None = None, api_key: str | None = None) -> Endpoint:
    """Start serving in a background thread (port 0 = any free port). A host other than loopback
    needs ``api_key``; the address check comes before the model is loaded."""
    if api_key is not None and len(api_key) < 16:
        raise EndpointConfigError("the endpoint's API key is shorter than 16 characters; use a long random key")
    if api_key is None and not is_loopback(host):
        raise EndpointConfigError(f"refusing to serve on {host!r} without an API key: anyone who can reach it could use the model; "
                                  "bind 127.0.0.1, or set a key (--api-key-env NAME)")
    handler = type("Handler", (_Handler,), {"model": load(checkpoint, name), "api_key": api_key})
    server = ThreadingHTTPServer((host, port), handler)
    thread = threading.Thread(target=server.serve_forever, name="irm-endpoint", daemon=True)
    thread.start()
    return Endpoint(server, thread)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="OpenAI-compatible endpoint over a local HF checkpoint (CPU)")
    parser.add_argument("checkpoint")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--api-key-env", default="", help="name of the environment variable holding the API key (required off loopback)")
    args = parser.parse_args()
    key = None
    if args.api_key_env:
        key = os.environ.get(args.api_key_env)
        if not key:
            parser.error(f"--api-key-env {args.api_key_env}: that environment variable is not set")
    endpoint = serve(args.checkpoint, args.host, args.port, api_key=key)
    print(f"serving {args.checkpoint} at {endpoint.base_url}", flush=True)
    endpoint.thread.join()
