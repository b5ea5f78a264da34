"""Markdown tables of a pack: per (bucket, split), and the train mix against its target."""

from __future__ import annotations


def bucket_table(shards: list[dict]) -> str:
    agg: dict[tuple[str, str], list[int]] = {}
    for s in shards:
        a = agg.setdefault((s["bucket"], s["split"]), [0, 0, 0, 0, 0])
        for i, key in enumerate(("tokens", "sequences", "documents", "truncated_documents", "capacity")):
            a[i] += s[key]
    lines = ["| bucket | split | tokens | sequences | documents | truncated | utilization |", "|---|---|---|---|---|---|---|"]
    for (bucket, split), (tokens, seqs, docs, truncated, capacity) in sorted(agg.items()):
        lines.append(f"| {bucket} | {split} | {tokens} | {seqs} | {docs} | {truncated} | {tokens / capacity:.3f} |")
    return "\n".join(lines)


def mix_table(mix: list[dict]) -> str:
    lines = ["| domain | train tokens | share | target |", "|---|---|---|---|"]
    lines += [f"| {m['domain']} | {m['tokens']} | {m['share']:.3f} | {m['target']:.2f} |" for m in mix]
    return "\n".join(lines)
