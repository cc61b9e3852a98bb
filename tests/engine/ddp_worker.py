"""Run under torchrun: train a recipe given as JSON and save this rank's final weights."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from advkt.engine.trainer import train  # noqa: E402
from advkt.recipe import load_recipe  # noqa: E402
from tests.engine import toy  # noqa: E402,F401  (registers the toy dataset)

if __name__ == "__main__":
    tree, out = json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2])
    torch.set_num_threads(1)
    summary, method = train(
        load_recipe(base=tree), run_dir=out / "run", quiet=True, return_method=True
    )
    rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
    state = {k: v.detach().contiguous() for k, v in method.state_dict().items()}
    save_file(state, str(out / f"rank{rank}.safetensors"))
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
