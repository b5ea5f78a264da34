"""A real HTTP server on 127.0.0.1 speaking the completions protocol with scripted answers.

``script``: prompt substring → list of replies, served in turn per substring (a reply is the
completion text, or ``MALFORMED`` for a body that is not JSON, or ``REFUSE`` for HTTP 400).
Echo/logprobs requests: whitespace tokens; tokens inside a ``preferred`` continuation at the end
of the prompt get -0.5, every other token -4 (``MALFORMED_LOGPROBS`` substrings get no logprobs).
Needle prompts are answered by reading the prompt, correct up to ``read_words`` words, wrong
beyond, refused beyond ``context_words`` (a context window).
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MALFORMED, REFUSE = "<<malformed>>", "<<refuse>>"


class Scripted:
    def __init__(self, script: dict[str, list[str]], preferred: list[str] = (), malformed_logprobs: list[str] = (),
                 read_words: int = 100, context_words: int = 1000):
        self.script, self.preferred, self.malformed_logprobs = script, list(preferred), list(malformed_logprobs)
        self.read_words, self.context_words = read_words, context_words
        self.turn: dict[str, int] = {}
        self.requests: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append(body)
                code, payload = owner.reply(body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _text(self, text: str, words: int) -> tuple[int, dict | bytes]:
        return 200, {"choices": [{"index": 0, "text": text, "finish_reason": "stop"}], "usage": {"prompt_tokens": words}}

    def reply(self, body: dict) -> tuple[int, dict | bytes]:
        prompt = body["prompt"]
        words = len(prompt.split())
        if body.get("echo"):
            return self._echo(prompt)
        if words > self.context_words:
            return 400, {"error": {"message": f"prompt of {words} tokens exceeds the context"}}
        question = prompt.rsplit("\n\n", 1)[-1]
        if "access code of" in question or "vault code of" in question:
            return self._needle(prompt, words)
        for key, replies in self.script.items():
            if key in prompt:
                k = self.turn.get(key, 0)
                self.turn[key] = k + 1
                text = replies[k % len(replies)]
                if text == MALFORMED:
                    return 200, b'{"choices": [{"index": 0, "te'
                if text == REFUSE:
                    return 400, {"error": {"message": "refused by script"}}
                return self._text(text, words)
        return self._text("", words)

    def _needle(self, prompt: str, words: int):
        question = prompt.rsplit("\n\n", 1)[-1]
        key = re.search(r"code of (\w+)", question).group(1)
        if "full vault code" in question:
            halves = [re.search(rf"{half} half of the vault code of {key} is (\d+)", prompt).group(1) for half in ("first", "second")]
            answer = "".join(halves)
        else:
            answer = re.search(rf"The access code of {key} is (\d+)", prompt).group(1)
        return self._text(f" {answer if words <= self.read_words else '000000'}.\n", words)

    def _echo(self, prompt: str):
        if any(m in prompt for m in self.malformed_logprobs):
            return 200, {"choices": [{"index": 0, "text": prompt}]}
        tokens = [(m.start(), m.group()) for m in re.finditer(r"\s*\S+", prompt)]
        boundary = next((len(prompt) - len(p) for p in self.preferred if prompt.endswith(p)), None)
        values = [None] + [-0.5 if boundary is not None and start >= boundary else -4.0 for start, _ in tokens[1:]]
        return 200, {"choices": [{"index": 0, "text": prompt, "logprobs": {"tokens": [t for _, t in tokens], "token_logprobs": values,
                                                                          "text_offset": [s for s, _ in tokens], "top_logprobs": None}}],
                     "usage": {"prompt_tokens": len(tokens)}}
