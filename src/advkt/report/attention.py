"""``advkt viz attention RUN --out FILE.png``: the teacher's and the student's attention maps.

For a trained HKSANC run: a grid with one row per input and, for each supervision point, the
teacher's map beside the student's. Images show the map over the picture; 1-D signals show the
signal with the map as a shaded curve below it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch


def attention_figure(run: str | Path, out: str | Path, n: int = 4, which: str = "last") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from advkt.data.augment import to_float
    from advkt.engine import checkpoint as ckpt
    from advkt.engine.run import build_method
    from advkt.engine.splits import load_splits
    from advkt.engine.teacher import build_teacher
    from advkt.models import build_model
    from advkt.recipe import recipe_from_json

    run = Path(run)
    recipe = recipe_from_json(run / "recipe.json")
    if recipe.method.name != "hksanc":
        raise ValueError(
            f"{run} is a '{recipe.method.name}' run; attention maps need an hksanc run"
        )
    data = load_splits(recipe)
    device = torch.device("cpu")
    teacher = build_teacher(recipe, data.train)
    where = ckpt.resolve(run, which)
    student = build_model(ckpt.read_spec(where))
    method = build_method(recipe, student, teacher, data.train, device)
    ckpt.load_method(method, where)
    x_raw = data.test.x[:n]
    x = to_float(x_raw, data.test.mean, data.test.std)
    maps = method.attention_maps(x)
    pred_t = teacher(x).argmax(1)
    pred_s = method.student(x).argmax(1)

    cols = 1 + 2 * len(maps)
    fig, axes = plt.subplots(n, cols, figsize=(1.7 * cols, 1.7 * n), squeeze=False)
    for i in range(n):
        img = x_raw[i]
        ax = axes[i][0]
        if img.dim() == 3:  # (C, H, W) image
            shown = img.permute(1, 2, 0).squeeze(-1).numpy()
            ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None)
        else:  # (C, L) signal
            ax.plot(img[0].numpy(), color="k", lw=1)
        ax.set_title(f"y={int(data.test.y[i])} t={int(pred_t[i])} s={int(pred_s[i])}", fontsize=7)
        for p, (mt, ms) in enumerate(maps):
            for j, (m, who) in enumerate(((mt, "teacher"), (ms, "student"))):
                ax = axes[i][1 + 2 * p + j]
                m = m[i].float()
                if m.dim() == 2:
                    ax.imshow(m.numpy(), cmap="magma")
                else:
                    ax.fill_between(range(m.numel()), m.flatten().numpy(), color="#c2542d")
                    ax.set_ylim(0, float(m.max()) * 1.1 + 1e-9)
                if i == 0:
                    ax.set_title(f"point {p + 1} {who}", fontsize=7)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"HKSANC attention maps: {recipe.name}", fontsize=9)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def add_parser(sub: argparse._SubParsersAction) -> None:
    v = sub.add_parser("viz", help="figures from a saved run")
    vs = v.add_subparsers(dest="viz_command", required=True)
    a = vs.add_parser("attention", help="teacher and student attention maps of an hksanc run")
    a.add_argument("run")
    a.add_argument("--out", required=True, help="PNG file to write")
    a.add_argument("-n", type=int, default=4, help="number of test inputs")
    a.add_argument("--which", choices=["last", "best"], default="last")
    a.set_defaults(
        fn=lambda args: print(attention_figure(args.run, args.out, args.n, args.which)) or 0
    )
