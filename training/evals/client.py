"""The harness's only view of a model: an OpenAI-compatible ``/v1/completions`` endpoint.

``complete`` samples one completion (seeded, so a rerun asks for the same sample);
``loglikelihood`` asks for the prompt's token log-probabilities (``echo`` + ``logprobs``,
``max_tokens: 0``) and sums those of the tokens that fall in the continuation. A reply the
server refuses (HTTP 4xx, say a prompt beyond the context) raises ``Refused``; one that is not
the protocol raises ``MalformedReply``: the caller scores the item as wrong and says why.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass


class EndpointError(RuntimeError):
    pass


class Refused(EndpointError):
    pass


class MalformedReply(EndpointError):
    pass


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int | None


@dataclass
class CompletionClient:
    base_url: str
    model: str = ""
    api_key_env: str = ""
    timeout_s: float = 600.0

    def _post(self, body: dict) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.api_key_env:
            key = os.environ.get(self.api_key_env)
            if not key:
                raise EndpointError(f"evals endpoint: environment variable {self.api_key_env} is not set")
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(self.base_url.rstrip("/") + "/completions", data=json.dumps({"model": self.model, **body}).encode(),
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                raw = response.read()
        except urllib.error.HTTPError as err:
            detail = err.read().decode("utf-8", "replace")
            try:
                detail = json.loads(detail)["error"]["message"]
            except (ValueError, KeyError, TypeError):
                pass
            if 400 <= err.code < 500:
                raise Refused(f"HTTP {err.code}: {str(detail)[:300]}") from None
            raise EndpointError(f"HTTP {err.code}: {str(detail)[:300]}") from None
        try:
            reply = json.loads(raw)
            choice = reply["choices"][0]
        except (ValueError, KeyError, IndexError, TypeError) as err:
            raise MalformedReply(f"not a completions reply ({type(err).__name__}): {raw[:200]!r}") from None
        if not isinstance(choice, dict) or not isinstance(choice.get("text"), str):
            raise MalformedReply(f"choice without text: {str(choice)[:200]}")
        return reply

    def complete(self, prompt: str, max_tokens: int, temperature: float, seed: int, stop: list[str] | None = None) -> Completion:
        body = {"prompt": prompt, "max_tokens": max_tokens, "temperature": temperature, "seed": seed}
        if stop:
            body["stop"] = stop[:4]
        reply = self._post(body)
        text = reply["choices"][0]["text"]
        for marker in stop or []:
            text = text.split(marker, 1)[0]
        usage = reply.get("usage") or {}
        return Completion(text, usage.get("prompt_tokens") if isinstance(usage, dict) else None)

    def loglikelihood(self, context: str, continuation: str) -> float:
        """log p(continuation | context): the sum over tokens that overlap the continuation."""
        reply = self._post({"prompt": context + continuation, "max_tokens": 0, "echo": True, "logprobs": 0, "temperature": 0})
        lp = reply["choices"][0].get("logprobs")
        try:
            values, offsets, tokens = lp["token_logprobs"], lp["text_offset"], lp["tokens"]
            if not (len(values) == len(offsets) == len(tokens)):
                raise ValueError("tokens, token_logprobs and text_offset differ in length")
            picked = [v for v, o, t in zip(values, offsets, tokens) if o + len(t) > len(context)]
            if not picked or any(not isinstance(v, (int, float)) for v in picked):
                raise ValueError("no scored token covers the continuation")
        except (KeyError, TypeError, ValueError) as err:
            raise MalformedReply(f"echo logprobs unusable ({err})") from None
        return float(sum(picked))
