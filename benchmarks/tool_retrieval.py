"""Tool retrieval on public benchmarks: BM25, dense and wideseek's ToolRetriever.

    python benchmarks/tool_retrieval.py [--set NAME ...] [--beir DIR ...] [--data DIR]
                                        [--max-queries N] [--no-dense]

Sets (from ../shared/data/toolret): metatool_single, metatool_multi, gorilla_torchhub,
gorilla_huggingface, stabletoolbench; `--beir DIR` adds any BEIR-format folder (corpus.jsonl,
queries.jsonl, qrels/test.tsv, optional qrels/train.tsv for examples). Test queries are only
measured; card examples come from training splits (MetaTool: a deterministic hash split, one
query in five held out; Gorilla TorchHub: its train file; the others have none).
Card and example vectors are cached in `<data>/tool_vectors.sqlite` (default
~/.cache/wideseek/bench/tools), so a second run only encodes queries.

Prints a table, then the last line: one JSON object
{"<set>": {"bm25": {"recall@5", "ndcg@10"}, "dense": {...}, "wideseek": {..., "ms_per_query"}}}.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evals.tool_bench import bench_json, run_tool_bench
from evals.toolret import SET_NAMES, ToolSetError
from retriever.onnx_encoder import fast_minilm

DEFAULT_DATA = Path.home() / ".cache" / "wideseek" / "bench" / "tools"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", dest="sets", action="append", choices=SET_NAMES)
    parser.add_argument("--beir", action="append", type=Path, default=[])
    parser.add_argument("--root", type=Path, default=None, help="the toolret data folder")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--max-queries", type=int, default=None)
    parser.add_argument("--no-dense", action="store_true", help="BM25 only (no encoder)")
    args = parser.parse_args()
    sets = args.sets or ([] if args.beir else list(SET_NAMES))
    try:
        results = run_tool_bench(
            sets,
            root=args.root,
            beir=args.beir,
            encoder_factory=None if args.no_dense else fast_minilm,
            vector_cache=args.data / "tool_vectors.sqlite",
            max_queries=args.max_queries,
        )
    except ToolSetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(bench_json(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
