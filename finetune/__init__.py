"""Fine-tuning the agent's models on its own runs.

- `export_runs`: stored runs (the run store's model calls) -> chat-format JSONL per sub-task,
  filtered by eval score or acceptance, mixed with general instruction data, deduplicated,
  with a stable train/validation split (`finetune.export`).
- `train_sft`: LoRA SFT with trl + peft on a Hugging Face folder or dequantised GGUF weights,
  resumable, loss logged; the adapter loads in peft and vLLM (`finetune.sft`).
- `combined_reward` and its parts: ToolRL-style rewards for tool calls and answers
  (`finetune.rewards`); `train_grpo`: GRPO with them (`finetune.grpo`).

Nothing here imports torch, trl or peft until training starts (the `train` extra).
"""

from finetune.accepted import AcceptedRuns, accepted_ids, accepted_path
from finetune.base import ResolvedBase, resolve_base
from finetune.errors import INSTALL_HINT, FinetuneError, MissingExtraError
from finetune.export import (
    GENERAL,
    SUB_TASKS,
    Example,
    ExportOptions,
    ExportStats,
    TaskCount,
    eval_scores,
    export_runs,
    read_examples,
    read_general,
    select_runs,
    trace_examples,
)
from finetune.grpo import GRPOOptions, train_grpo
from finetune.rewards import (
    RewardBreakdown,
    RewardWeights,
    ToolCall,
    answer_reward,
    argument_name_reward,
    argument_value_reward,
    combined_reward,
    format_reward,
    parse_tool_call,
    reward_function,
    score_output,
    tool_name_reward,
)
from finetune.sft import SFTOptions, train_sft
from finetune.training import TrainResult

__all__ = [
    "GENERAL",
    "INSTALL_HINT",
    "SUB_TASKS",
    "AcceptedRuns",
    "Example",
    "ExportOptions",
    "ExportStats",
    "FinetuneError",
    "GRPOOptions",
    "MissingExtraError",
    "ResolvedBase",
    "RewardBreakdown",
    "RewardWeights",
    "SFTOptions",
    "TaskCount",
    "ToolCall",
    "TrainResult",
    "accepted_ids",
    "accepted_path",
    "answer_reward",
    "argument_name_reward",
    "argument_value_reward",
    "combined_reward",
    "eval_scores",
    "export_runs",
    "format_reward",
    "parse_tool_call",
    "read_examples",
    "read_general",
    "resolve_base",
    "reward_function",
    "score_output",
    "select_runs",
    "tool_name_reward",
    "trace_examples",
    "train_grpo",
    "train_sft",
]
