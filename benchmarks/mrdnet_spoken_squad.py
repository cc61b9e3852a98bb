"""MRD-Net against the student alone, logit KD, the authors' earlier spoken-written KD and
MRD-Net without audio on Spoken-SQuAD (issue #20; ``docs/methods/mrdnet.md``).

    OMP_NUM_THREADS=1 python benchmarks/mrdnet_spoken_squad.py --seeds 3 --workers 2

Data (``../shared/data``): the manual SQuAD v1.1 dev contexts and Spoken-SQuAD's ASR contexts of
the same questions at WER 22.7, 44 and 54. The 48 articles are split 32 / 16 (seed 0) for
training and test (Spoken-SQuAD's training file is not at hand). The teacher, a span reader, is
trained once (seed 0) on the manual contexts of the training articles' questions; every student
trains on the ASR contexts of the same questions (answers mapped onto the ASR text; a question
whose answers did not survive recognition has no training target), from that teacher, and is
scored by the official EM / F1 on the ASR contexts of the test articles' questions against their
reference answers (the lost ones included). The teacher is scored on the manual test contexts.

The text encoder's features and the speech (espeak-ng, log-mel) are computed once and cached in
the library's cache folder; their build times and sizes go to ``caches.json``. Each finished run is
recorded in ``benchmarks/results/mrdnet-spoken-squad/runs/`` and read back (a rerun trains only
what is missing). Writes results.json (rows: ``method``, ``wer``, ``metric`` em / f1, ``values``,
``seeds``) and table.md there.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "benchmarks" / "results" / "mrdnet-spoken-squad"
MANUAL = "squad/dev-v1.1.json"
WER = {
    "22.7": "spoken-squad/spoken_test-v1.1.json",
    "44": "spoken-squad/spoken_test-v1.1_WER44.json",
    "54": "spoken-squad/spoken_test-v1.1_WER54.json",
}
METHODS = ("student", "kd", "swkd", "mrdnet", "mrdnet-noaudio")
SPLIT = {"train_articles": 32, "seed": 0}
TRAIN = {"epochs": 10, "batch_size": 32, "lr": 1e-3}


def questions(data: Path, wer: str | None):
    """(train, test) questions: the manual ones (``wer`` None) or the ASR ones at ``wer`` with
    their answers mapped onto the ASR text, split by article; and the ids of the lost answers."""
    from advkt.spoken_qa.spans import map_answers, split_by_article
    from advkt.spoken_qa.squad import pair, read_squad

    manual = read_squad(data / MANUAL)
    if wer is None:
        return (*split_by_article(manual, SPLIT["train_articles"], SPLIT["seed"]), [])
    asr, lost = map_answers([a for _, a in pair(manual, read_squad(data / WER[wer]))])
    # the same articles on each side as the teacher's split
    titles = {q.title for q in split_by_article(manual, SPLIT["train_articles"], SPLIT["seed"])[0]}
    return [q for q in asr if q.title in titles], [q for q in asr if q.title not in titles], lost


def speech_of(s, data: Path, wer: str):
    """The speech of each question's paragraph: its manual context spoken (cached)."""
    import torch

    from advkt.spoken_qa.mrdnet import Speech
    from advkt.spoken_qa.speech import cached_speech
    from advkt.spoken_qa.squad import read_squad

    by_id = {q.id: q.context for q in read_squad(data / MANUAL)}
    texts = sorted({by_id[q.id] for q in s.questions})
    at = {t: i for i, t in enumerate(texts)}
    frames, index = cached_speech(texts)
    return Speech(frames, index, torch.tensor([at[by_id[q.id]] for q in s.questions]))


def teacher(data: Path):
    """The teacher span reader, trained once into the cache (safetensors) and its manual-test
    scores recorded in ``runs/teacher.json``."""
    from safetensors.torch import load_file, save_file

    from advkt.data.cache import cache_dir
    from advkt.spoken_qa.model import SpanReader
    from advkt.spoken_qa.reader import build_set, fit_reader, score

    key = json.dumps({"split": SPLIT, "train": TRAIN}, sort_keys=True)
    path = cache_dir() / "mrdnet-spoken-squad" / "teacher.safetensors"
    record = OUT / "runs" / "teacher.json"
    if path.is_file() and record.is_file() and json.loads(record.read_text())["key"] == key:
        model = SpanReader()
        model.load_state_dict(load_file(str(path)))
        return model.eval()
    train, test, _ = questions(data, None)
    t0 = time.perf_counter()
    model, losses = fit_reader(build_set(train, progress=True), seed=0, **TRAIN)
    seconds = time.perf_counter() - t0
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    out = {"key": key, "train_questions": len(train), "test_questions": len(test),
           "losses": losses, "train_seconds": seconds, **score(model, build_set(test))}  # fmt: skip
    _write(record, out)
    return model


def _write(path: Path, doc: dict) -> None:
    from advkt.atomic import write_text_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(doc, indent=1) + "\n")


def one(data: Path, wer: str, method: str, seed: int) -> dict:
    """One student at one WER level: trained, scored on the ASR test contexts, recorded."""
    import torch

    torch.set_num_threads(1)
    from advkt.spoken_qa.mrdnet import fit_student, predict_student
    from advkt.spoken_qa.reader import build_set, fit_reader, predict
    from advkt.spoken_qa.squad import evaluate, read_squad

    record = OUT / "runs" / f"wer{wer}-{method}-s{seed}.json"
    settings = {"split": SPLIT, "train": TRAIN}
    if record.is_file():
        kept = json.loads(record.read_text())
        if kept["settings"] == settings:
            return kept
    train_q, test_q, lost = questions(data, wer)
    train, test = build_set(train_q), build_set(test_q)
    t0 = time.perf_counter()
    if method == "student":
        model, losses = fit_reader(train, seed=seed, **TRAIN)
        answers = predict(model, test)
    else:
        audio = method == "mrdnet"
        kind = method.removesuffix("-noaudio")
        sp = speech_of(train, data, wer) if audio else None
        written = None
        if method == "swkd":  # the same questions over their manual contexts, for the teacher
            by_id = {q.id: q for q in read_squad(data / MANUAL)}
            written = build_set([by_id[q.id] for q in train.questions])
        parts, losses = fit_student(train, teacher(data), kind, sp, seed=seed, audio=audio,
                                    manual=written, **TRAIN)  # fmt: skip
        answers = predict_student(parts, test, speech_of(test, data, wer) if audio else None)
    scores = evaluate(test.questions, answers)
    out = {"wer": wer, "method": method, "seed": seed, "settings": settings,
           "em": scores["exact_match"], "f1": scores["f1"], "losses": losses,
           "train_seconds": time.perf_counter() - t0, "train_questions": len(train),
           "trained_on": int(train.answerable.sum()), "test_questions": len(test),
           "lost_answers": len(lost)}  # fmt: skip
    _write(record, out)
    print(json.dumps({k: v for k, v in out.items() if k != "losses"}), file=sys.stderr, flush=True)
    return out


def caches(data: Path) -> dict:
    """Build the encoder and speech caches once (in this process), timed, with their sizes."""
    from advkt.data.cache import cache_dir
    from advkt.spoken_qa.reader import build_set

    def sizes(prefix: str) -> int:
        return sum(p.stat().st_size for p in cache_dir().glob(f"{prefix}-*.safetensors"))

    info = {}
    t0 = time.perf_counter()
    for wer in (None, *WER):
        for part in questions(data, wer)[:2]:
            build_set(part, progress=True)
    info["encoder"] = {"seconds": time.perf_counter() - t0, "bytes": sizes("spoken-qa-tokens")}
    t0 = time.perf_counter()
    for wer in WER:
        for part in questions(data, wer)[:2]:
            speech_of(build_set(part), data, wer)
    info["speech"] = {"seconds": time.perf_counter() - t0, "bytes": sizes("spoken-qa-speech")}
    return info


def main(argv: list[str] | None = None) -> int:
    from advkt.report.results import fmt, mean_std, row, write_results

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    if not (OUT / "caches.json").is_file():
        _write(OUT / "caches.json", caches(args.data))
    teacher(args.data)  # trained once, before the students that read it
    t = json.loads((OUT / "runs" / "teacher.json").read_text())
    jobs = [(args.data, w, m, s) for w in WER for m in METHODS for s in range(1, args.seeds + 1)]
    with ProcessPoolExecutor(args.workers) as pool:
        done = [f.result() for f in [pool.submit(one, *j) for j in jobs]]
    rows = [row("teacher (manual contexts)", "spoken-squad", m, [t[m]], wer="manual")
            for m in ("exact_match", "f1")]  # fmt: skip
    lines = [f"Teacher on the manual test contexts: EM {t['exact_match']:.1f}, "
             f"F1 {t['f1']:.1f} ({t['test_questions']} questions).", "",
             "| WER | method | EM | F1 | seeds |", "|---|---|---|---|---|"]  # fmt: skip
    for w in WER:
        for m in METHODS:
            rs = sorted((r for r in done if r["wer"] == w and r["method"] == m),
                        key=lambda r: r["seed"])  # fmt: skip
            seeds = [r["seed"] for r in rs]
            for metric in ("em", "f1"):
                rows.append(row(m, "spoken-squad", metric, [r[metric] for r in rs], wer=float(w),
                                seeds=seeds))  # fmt: skip
            lines.append(f"| {w} | {m} | {fmt(*mean_std([r['em'] for r in rs]), 1)} | "
                         f"{fmt(*mean_std([r['f1'] for r in rs]), 1)} | {len(rs)} |")  # fmt: skip
    command = "python benchmarks/mrdnet_spoken_squad.py --seeds 3 --workers 2"
    write_results(OUT, "mrdnet-spoken-squad", rows, split=SPLIT, train=TRAIN, command=command)
    (OUT / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
