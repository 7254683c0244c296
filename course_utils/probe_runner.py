"""Runs inside the sandbox: define a student's functions, call them on the grader's inputs, write plain data.

Standalone on purpose (it imports nothing of ``course_utils``, which the sandbox does not mount): the grader
copies this file into the job folder and runs ``python /job/probe_runner.py /job /out``.

``/out/job.json`` (written by the grader before the start) holds ``{"preamble": str, "exercises": [{"exercise", "support", "solution", "forbidden":
[dotted names], "calls": [{"expr": str, "inputs": {name: file}}]}]}``; inputs are ``.npy`` files in ``/job``.
For each exercise, in a fresh namespace: the preamble (imports), the exercise's support code (trusted helpers),
the forbidden references replaced by stand-ins that raise, then the student's definitions, then each call.
Each result is written as soon as it exists: ``/out/<exercise>.json`` (a list, one entry per call:
``{"type", "shape", "file"}`` for a tensor or array saved as ``.npy``, ``{"type", "value"}`` for a number,
``{"error"}`` for an exception). Nothing is pickled. Nothing here is trusted: the grader only reads the data.
"""

import json
import os
import sys
import traceback


def _stand_in(name):
    def refuse(*args, **kwargs):
        raise RuntimeError(f"write this one yourself: the solution must not call {name}")

    return refuse


def _switch_off(dotted, namespace):
    import importlib

    parts = dotted.split(".")
    if len(parts) == 1:
        if parts[0] in namespace:
            namespace[parts[0]] = _stand_in(dotted)
        return None
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for part in parts[cut:-1]:
                owner = getattr(owner, part)
            original = getattr(owner, parts[-1])
            setattr(owner, parts[-1], _stand_in(dotted))
            return owner, parts[-1], original
        except (AttributeError, TypeError):
            return None
    return None


def _plain(value, out, stem):
    import numpy as np
    import torch

    if type(value) is torch.Tensor:
        array = torch.Tensor.numpy(value.detach().cpu().to(torch.float64))
        np.save(os.path.join(out, stem + ".npy"), array, allow_pickle=False)
        return {"type": "tensor", "shape": list(array.shape), "file": stem + ".npy"}
    if type(value) is np.ndarray:
        array = np.asarray(value, dtype=np.float64)
        np.save(os.path.join(out, stem + ".npy"), array, allow_pickle=False)
        return {"type": "ndarray", "shape": list(array.shape), "file": stem + ".npy"}
    if type(value) in (float, int, bool) or isinstance(value, np.floating):
        return {"type": type(value).__name__, "value": float(value) if value == value else "nan"}
    if type(value) in (list, tuple) and all(type(v) in (float, int) for v in value):
        return {"type": type(value).__name__, "value": [float(v) for v in value]}
    return {"type": type(value).__name__, "error": f"returned a {type(value).__name__}, not a number or a tensor"}


def main(job_dir, out_dir):
    import numpy as np
    import torch

    torch.set_num_threads(1)
    job = json.load(open(os.path.join(out_dir, "job.json")))
    for exercise in job["exercises"]:
        results, patches = [], []
        namespace = {"__name__": "__student__"}
        try:
            exec(compile(job["preamble"], "<preamble>", "exec"), namespace)
            exec(compile(exercise["support"], "<support>", "exec"), namespace)
            for name in exercise["forbidden"]:
                patches.append(_switch_off(name, namespace))
            exec(compile(exercise["solution"], "<your solution>", "exec"), namespace)
        except BaseException as err:  # noqa: BLE001 (a student's definitions may raise anything)
            results = [{"error": f"defining the solution raised {type(err).__name__}: {err}"[:300]}] * len(exercise["calls"])
            exercise["calls"] = []
        for k, call in enumerate(exercise["calls"]):
            local = dict(namespace)
            for name, file in call["inputs"].items():
                local[name] = torch.from_numpy(np.load(os.path.join(job_dir, file), allow_pickle=False))
            try:
                value = eval(compile(call["expr"], "<grader call>", "eval"), local)
                results.append(_plain(value, out_dir, f"{exercise['exercise']}_{k}"))
            except BaseException as err:  # noqa: BLE001
                last = traceback.extract_tb(err.__traceback__)[-1:]
                where = f" (line {last[0].lineno} of {last[0].filename})" if last else ""
                results.append({"error": f"{type(err).__name__}: {err}"[:300] + where})
            with open(os.path.join(out_dir, exercise["exercise"] + ".json"), "w") as f:
                json.dump(results, f)
        if not exercise["calls"]:
            with open(os.path.join(out_dir, exercise["exercise"] + ".json"), "w") as f:
                json.dump(results, f)
        for patch in reversed([p for p in patches if p]):  # the next exercise's support sees the originals
            setattr(*patch)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
