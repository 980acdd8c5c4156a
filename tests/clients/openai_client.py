"""Calls the Prelaunch gateway with the official OpenAI Python SDK, as an evaluator would, and prints what it got
as one JSON object on stdout. The gateway's address and token come from OPENAI_BASE_URL and OPENAI_API_KEY.

    python openai_client.py complete|stream|tools|models|refused MODEL
"""

import json
import sys

import openai

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def usage_of(usage):
    if usage is None:
        return None
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def complete(client, model):
    response = client.chat.completions.create(
        model=model,
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hello to the gateway."},
        ],
        temperature=0.2,
        max_tokens=32,
        seed=7,
    )
    choice = response.choices[0]
    return {
        "id": response.id,
        "model": response.model,
        "content": choice.message.content,
        "finish_reason": choice.finish_reason,
        "usage": usage_of(response.usage),
    }


def stream(client, model):
    chunks = []
    usage = None
    models = set()
    finish_reason = None
    with client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Count for me."}],
        stream=True,
        stream_options={"include_usage": True},
    ) as events:
        for event in events:
            models.add(event.model)
            if event.usage is not None:
                usage = usage_of(event.usage)
            for choice in event.choices:
                if choice.delta.content:
                    chunks.append(choice.delta.content)
                if choice.finish_reason:
                    finish_reason = choice.finish_reason
    return {
        "chunks": chunks,
        "text": "".join(chunks),
        "models": sorted(models),
        "finish_reason": finish_reason,
        "usage": usage,
    }


def tools(client, model):
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = client.chat.completions.create(
        model=model, messages=messages, tools=[WEATHER_TOOL], tool_choice="auto"
    )
    message = first.choices[0].message
    calls = [
        {"id": c.id, "name": c.function.name, "arguments": json.loads(c.function.arguments)}
        for c in message.tool_calls or []
    ]
    messages.append(message.model_dump(exclude_none=True))
    for call in calls:
        messages.append(
            {"role": "tool", "tool_call_id": call["id"], "content": "18 degrees and sunny"}
        )
    second = client.chat.completions.create(model=model, messages=messages)
    return {
        "finish_reason": first.choices[0].finish_reason,
        "tool_calls": calls,
        "final": second.choices[0].message.content,
    }


def models(client, _model):
    return {"ids": [m.id for m in client.models.list()]}


def refused(client, model):
    try:
        client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Still there?"}]
        )
    except openai.APIStatusError as error:
        body = error.body if isinstance(error.body, dict) else {}
        return {
            "error": type(error).__name__,
            "status": error.status_code,
            "code": body.get("code"),
            "message": body.get("message"),
        }
    return {"error": None}


def main():
    mode, model = sys.argv[1], sys.argv[2]
    # No retries: each call the gateway sees is one the test made.
    client = openai.OpenAI(max_retries=0, timeout=60)
    result = {
        "complete": complete,
        "stream": stream,
        "tools": tools,
        "models": models,
        "refused": refused,
    }[mode](client, model)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
