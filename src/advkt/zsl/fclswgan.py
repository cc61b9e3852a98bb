r"""f-CLSWGAN (Xian, Lorenz, Schiele, Akata, "Feature generating networks for zero-shot learning",
CVPR 2018), the generative peer of :mod:`advkt.zsl.afrnet`.

A conditional WGAN-GP generates visual features from noise and a class's semantics, with a
classification term on the generated features (the shared loss of :mod:`advkt.zsl.generative`):

.. math:: G(z, a) = \mathrm{ReLU}(W_2\,\mathrm{LeakyReLU}_{0.2}(W_1 [z; a])),\qquad
          L_G = -\mathbb{E}[f(G(z, a_y), a_y)] + \beta\,\mathrm{CE}(C(G(z, a_y)), y).

**Paper**: the generator and critic (one hidden layer, LeakyReLU 0.2, ReLU output), λ_GP = 10,
5 critic steps a generator step, Adam(1e-4, β 0.5/0.999), noise as wide as the semantics, a
softmax classifier on the synthetic unseen features (with the real seen ones for GZSL).
**Ours**: the hidden width (1,024, against the paper's 4,096 for 2,048-d ResNet features),
2,000 generator steps, as many synthetic features an unseen class as a seen class has real ones,
20 epochs for every softmax classifier (the last one kept), β chosen on a validation split.
"""

from __future__ import annotations

import torch

from advkt.zsl.generative import FeatureGenerator, GenerativeZSL


class FCLSWGAN(GenerativeZSL):
    name = "f-CLSWGAN"

    def generator(self, task, x: torch.Tensor, y: torch.Tensor):
        a = task.attributes.shape[1]
        return FeatureGenerator(a, a, self.hidden, x.shape[1]), True
