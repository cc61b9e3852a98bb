"""A synthetic person re-ID set rendered by the library (issue #22): no re-ID images can be had on
these machines, so the methods are trained and compared end to end on people drawn here.

Each identity has fixed attributes (drawn from its id): hair colour, a top colour and pattern
(plain, stripes, checks), a bottom colour and kind (trousers, shorts), shoes, an optional
carried item (bag or backpack, its colour and side), height and build. Each camera has its own
background (colour, gradient, texture), light (gain and colour cast), viewpoint (front, back or
side; a side view is narrower and shows a bag's side, a back view hides the face under the hair
and shows a backpack whole) and noise. Each image jitters position, scale and brightness. An
identity's caption is written from its attributes ("a person with black hair wearing a red
striped top and blue trousers, carrying a green backpack").

:func:`render` returns uint8 images (N, 3, H, W) with person and camera ids and the captions;
:func:`write_market` writes them as a Market-1501 folder (``bounding_box_train``, ``query``,
``bounding_box_test``, names ``0001_c1s1_000001_00.jpg``) that :func:`advkt.reid.layouts.
market1501` reads, with one query image per (test identity, camera).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

COLOURS = {
    "black": (30, 30, 30), "white": (225, 225, 225), "grey": (128, 128, 128),
    "red": (200, 40, 40), "blue": (40, 70, 200), "green": (40, 160, 60),
    "yellow": (230, 200, 40), "brown": (120, 75, 40), "purple": (130, 50, 160),
    "orange": (235, 130, 30), "pink": (235, 150, 180), "navy": (25, 35, 90),
}  # fmt: skip
HAIR = ("black", "brown", "yellow", "grey")
PATTERNS = ("plain", "striped", "checked")
SKIN = (210, 170, 140)


@dataclass(frozen=True)
class Person:
    hair: str
    top: str
    pattern: str
    bottom: str
    shorts: bool
    shoes: str
    item: str  # "none", "bag", "backpack"
    item_colour: str
    item_side: int  # -1 left, 1 right
    height: float  # share of the image height, 0.82-0.98
    build: float  # body width scale, 0.8-1.1

    def caption(self) -> str:
        top = f"a {self.top} {self.pattern + ' ' if self.pattern != 'plain' else ''}top"
        bottom = f"{self.bottom} {'shorts' if self.shorts else 'trousers'}"
        text = f"a person with {self.hair} hair wearing {top} and {bottom}"
        if self.item != "none":
            text += f", carrying a {self.item_colour} {self.item}"
        return text


def person(pid: int, seed: int = 0) -> Person:
    """The attributes of identity ``pid`` (the same for every camera and image)."""
    r = np.random.default_rng([seed, pid, 1])
    names = list(COLOURS)
    top, bottom = r.choice(names, 2, replace=False)
    item = str(r.choice(["none", "bag", "backpack"], p=[0.4, 0.3, 0.3]))
    return Person(
        hair=str(r.choice(HAIR)), top=str(top), pattern=str(r.choice(PATTERNS)),
        bottom=str(bottom), shorts=bool(r.random() < 0.3), shoes=str(r.choice(["black", "white",
        "brown"])), item=item, item_colour=str(r.choice(names)), item_side=int(r.choice([-1, 1])),
        height=float(r.uniform(0.82, 0.98)), build=float(r.uniform(0.8, 1.1)),
    )  # fmt: skip


@dataclass(frozen=True)
class Camera:
    background: tuple[int, int, int]
    gradient: float
    texture: float
    gain: float
    cast: tuple[float, float, float]
    view: str  # "front", "back", "side"
    noise: float


def camera(camid: int, seed: int = 0) -> Camera:
    r = np.random.default_rng([seed, camid, 2])
    return Camera(
        background=tuple(int(v) for v in r.integers(40, 200, 3)),
        gradient=float(r.uniform(-60, 60)), texture=float(r.uniform(0, 25)),
        gain=float(r.uniform(0.7, 1.25)),
        cast=tuple(float(v) for v in r.uniform(0.85, 1.15, 3)),
        view=("front", "back", "side")[camid % 3], noise=float(r.uniform(2, 10)),
    )  # fmt: skip


def draw(p: Person, c: Camera, rng: np.random.Generator, h: int = 64, w: int = 32) -> np.ndarray:
    """One (3, h, w) uint8 image of person p seen by camera c."""
    img = np.empty((h, w, 3), np.float32)
    ys = np.linspace(0, 1, h)[:, None, None]
    img[:] = np.asarray(c.background, np.float32) + c.gradient * (ys - 0.5)
    img += c.texture * rng.standard_normal((h, w, 1)).astype(np.float32)
    scale = p.height * rng.uniform(0.95, 1.05)
    top_y = int(round(h * (1 - scale) + rng.integers(-2, 3)))
    cx = w / 2 + rng.integers(-2, 3)
    half = 0.3 * w * p.build * (0.7 if c.view == "side" else 1.0)

    def box(y0: float, y1: float, x0: float, x1: float, colour) -> None:
        r0, r1 = int(max(0, y0)), int(min(h, y1))
        q0, q1 = int(max(0, x0)), int(min(w, x1))
        if r1 > r0 and q1 > q0:
            img[r0:r1, q0:q1] = colour

    body = h - top_y

    def y(f: float) -> float:  # a height along the body, 0 = the top of the head
        return top_y + f * body

    col = {k: np.asarray(v, np.float32) for k, v in COLOURS.items()}
    # head: the face from the front or side, the hair all over it from the back
    box(
        y(0.0),
        y(0.14),
        cx - 0.35 * half,
        cx + 0.35 * half,
        col[p.hair] if c.view == "back" else SKIN,
    )
    box(y(0.0), y(0.05), cx - 0.4 * half, cx + 0.4 * half, col[p.hair])
    # top, with its pattern
    box(y(0.15), y(0.52), cx - half, cx + half, col[p.top])
    if p.pattern != "plain":
        for r in range(int(y(0.15)), int(y(0.52))):
            for q in range(int(max(0, cx - half)), int(min(w, cx + half))):
                on = (r // 3) % 2 == 0 if p.pattern == "striped" else ((r // 3 + q // 3) % 2 == 0)
                if on:
                    img[r, q] = 0.55 * col[p.top] + 0.45 * col["white"]
    # bottom: trousers to the shoes, or shorts above bare legs
    box(y(0.52), y(0.93), cx - 0.85 * half, cx + 0.85 * half, SKIN)
    box(y(0.52), y(0.72 if p.shorts else 0.93), cx - 0.85 * half, cx + 0.85 * half, col[p.bottom])
    box(y(0.73) if not p.shorts else y(0.72), y(0.93), cx - 0.08 * half, cx + 0.08 * half,
        np.asarray(c.background, np.float32))  # the gap between the legs  # fmt: skip
    box(y(0.93), y(1.0), cx - 0.9 * half, cx + 0.9 * half, col[p.shoes])
    # the carried item: a bag at the side (front and side views), a backpack on the back
    if p.item == "bag" and c.view != "back":
        x0 = cx + p.item_side * (half + 1) - (4 if p.item_side < 0 else 0)
        box(y(0.40), y(0.60), x0, x0 + 4, col[p.item_colour])
    elif p.item == "backpack" and c.view != "front":
        if c.view == "back":
            box(y(0.18), y(0.45), cx - 0.7 * half, cx + 0.7 * half, col[p.item_colour])
        else:
            box(y(0.18), y(0.45), cx - half - 3, cx - half + 1, col[p.item_colour])
    img *= c.gain * np.asarray(c.cast, np.float32) * rng.uniform(0.9, 1.1)
    img += c.noise * rng.standard_normal(img.shape).astype(np.float32)
    if c.view == "side" and rng.random() < 0.5:
        img = img[:, ::-1]
    return np.clip(img, 0, 255).astype(np.uint8).transpose(2, 0, 1).copy()


@dataclass
class Rendered:
    images: np.ndarray  # (N, 3, H, W) uint8
    pids: np.ndarray  # (N,) person ids 1..n_ids
    camids: np.ndarray  # (N,) 0-based
    captions: dict[int, str]  # person id -> caption


def render(n_ids: int = 100, n_cams: int = 4, per_cam: int = 4, seed: int = 0,
           h: int = 64, w: int = 32) -> Rendered:  # fmt: skip
    """``per_cam`` images of each of ``n_ids`` identities in each of ``n_cams`` cameras."""
    if n_ids < 1 or n_cams < 2 or per_cam < 1:
        raise ValueError("render needs n_ids >= 1, n_cams >= 2 (re-ID matches across cameras) and "
                         "per_cam >= 1")  # fmt: skip
    rng = np.random.default_rng([seed, 3])
    cams = [camera(c, seed) for c in range(n_cams)]
    images, pids, camids, captions = [], [], [], {}
    for pid in range(1, n_ids + 1):
        p = person(pid, seed)
        captions[pid] = p.caption()
        for c, cam in enumerate(cams):
            for _ in range(per_cam):
                images.append(draw(p, cam, rng, h, w))
                pids.append(pid)
                camids.append(c)
    return Rendered(np.stack(images), np.asarray(pids), np.asarray(camids), captions)


def write_market(r: Rendered, root: str | Path, train_ids: int) -> Path:
    """Write ``r`` as a Market-1501 folder under ``root``: identities 1..train_ids in
    ``bounding_box_train``, the others split into one ``query`` image per (identity, camera)
    and the rest in ``bounding_box_test``. Returns the dataset folder."""
    from PIL import Image as PILImage

    base = Path(root) / "Market-1501-v15.09.15"
    for folder in ("bounding_box_train", "query", "bounding_box_test"):
        (base / folder).mkdir(parents=True, exist_ok=True)
    seen: set[tuple[int, int]] = set()
    for i, (img, pid, cam) in enumerate(zip(r.images, r.pids, r.camids)):
        if pid <= train_ids:
            folder = "bounding_box_train"
        elif (pid, cam) not in seen:
            folder = "query"
            seen.add((pid, cam))
        else:
            folder = "bounding_box_test"
        name = f"{pid:04d}_c{cam + 1}s1_{i:06d}_00.jpg"
        PILImage.fromarray(img.transpose(1, 2, 0)).save(base / folder / name, quality=95)
    # each identity's caption (the text a captioner learns; HorNet's language side)
    captions = {f"{pid:04d}": text for pid, text in sorted(r.captions.items())}
    (base / "captions.json").write_text(json.dumps(captions, indent=1) + "\n")
    return base
