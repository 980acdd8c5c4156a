"""A tiny Inspect AI task for testing the gateway with Inspect itself: three samples from an Inspect JSONL
dataset, plain generation, and an `includes` scorer. Run as

    PRELAUNCH_BASE_URL=<gateway>/gateway/v1 PRELAUNCH_API_KEY=<gateway token> \
        inspect eval inspect_task.py --model openai-api/prelaunch/<model name>
"""

from pathlib import Path

from inspect_ai import Task, task
from inspect_ai.dataset import json_dataset
from inspect_ai.scorer import includes
from inspect_ai.solver import generate


@task
def gateway_echo():
    return Task(
        dataset=json_dataset(str(Path(__file__).parent / "inspect_samples.jsonl")),
        solver=generate(),
        scorer=includes(),
    )
