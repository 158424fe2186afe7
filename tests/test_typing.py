"""mypy accepts a user's script of public API use (and sees the Tensor class: a wrong
call in a second script is reported)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parent.parent

USER_SCRIPT = '''\
import numpy as np

import autograd_lite as ag

rng = np.random.default_rng(0)
x = ag.tensor(rng.standard_normal((4, 3)), requires_grad=True)
w = ag.tensor(rng.standard_normal((3, 2)), requires_grad=True)
y = x * x + 2.0 * x - x / 3.0
z = (y.tanh() ** 2).sum(dim=1, keepdim=True).mean()
(x @ w).sum().backward()
grad_w: ag.Tensor | None = w.grad
s = ag.sin(x) + np.exp(x) + ag.maximum(x, 0.0)
count: int = x.numel() + x.size + x.ndim
f = ag.grad(lambda a: (a * a).sum())
print(f(np.ones(3)), s.shape, count, grad_w, z.item())
model = ag.nn.Linear(3, 2)
opt = ag.optim.Adam(model.parameters(), lr=1e-2)
loss = ((model(x) - 1.0) ** 2).mean()
opt.zero_grad()
loss.backward()
opt.step()
v = x.transpose(0, 1).reshape(-1).view(3, 4).permute(1, 0).t().float().double()
print(v.exp().log().sqrt().abs().relu().sigmoid().clamp(0.1, 0.9).var(unbiased=True))
'''


def _mypy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> tuple[str, int]:
    script = tmp_path / "user_script.py"
    script.write_text(source)
    monkeypatch.setenv("MYPYPATH", str(ROOT))  # this checkout, not an installed copy
    monkeypatch.chdir(tmp_path)
    # Errors inside the package are its own business; what the user's script sees counts.
    limit = sys.getrecursionlimit()
    try:
        out, err, status = api.run([str(script), "--follow-imports=silent",
                                    "--cache-dir", str(tmp_path / "cache")])
    finally:  # mypy raises the limit for itself; later tests rely on the default one
        sys.setrecursionlimit(limit)
    return out + err, status


def test_a_user_script_type_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report, status = _mypy(tmp_path, monkeypatch, USER_SCRIPT)
    assert status == 0, report


def test_mypy_sees_the_tensor_methods(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report, status = _mypy(tmp_path, monkeypatch, USER_SCRIPT + "x.tanh(1)\nx.nosuch()\n")
    assert status == 1
    assert 'Too many arguments for "tanh" of "Tensor"' in report
    assert '"Tensor" has no attribute "nosuch"' in report
