"""The surface derived from the op table: generated code is fresh, and the table, the
Tensor class, ``__all__``, docs/API.md and the graph command agree; both spellings."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite.commands import graph as graph_command
from autograd_lite.ops import TABLE, codegen

ROOT = Path(__file__).resolve().parent.parent
API_DOC = (ROOT / "docs" / "API.md").read_text()


def test_generated_blocks_are_fresh() -> None:
    stale = [str(p.relative_to(ROOT)) for p in codegen.stale()]
    assert not stale, f"generated code is stale in {stale}: run `{codegen.COMMAND}`"


def test_table_names_are_unique_per_namespace() -> None:
    seen: dict[tuple[str, str], int] = {}
    for e in TABLE:
        seen[(e.namespace, e.name)] = seen.get((e.namespace, e.name), 0) + 1
    assert [k for k, n in seen.items() if n > 1] == []


def test_every_member_is_a_def_in_the_tensor_class_body() -> None:
    source = (ROOT / "autograd_lite" / "tensor.py").read_text()
    for m in codegen.members():
        assert f"    def {m.name}(self" in source, m.name
        attr = vars(ag.Tensor)[m.name]
        fn = attr.fget if isinstance(attr, property) else attr
        # Not replaced at import by an op module (the old setattr installs).
        assert fn.__module__ == "autograd_lite.tensor", m.name


def test_table_tensor_all_docs_and_graph_command_agree() -> None:
    exported = {e.name for e in TABLE if e.namespace == "ag"}
    assert exported <= set(ag.__all__)
    for e in TABLE:
        if e.namespace == "ag":
            assert getattr(ag, e.name) is e.function, e.name
            assert f"`ag.{e.name}(" in API_DOC, e.name
        for f in e.numpy:
            assert f"`np.{f.__name__}`" in API_DOC, f.__name__
    for m in codegen.members():
        assert f"`t.{m.name}" in API_DOC, m.name
    methods = {m if isinstance(m, str) else m[0] for e in TABLE for m in e.methods}
    assert methods == graph_command.TENSOR_METHODS
    assert graph_command.MODULE_FUNCTIONS["ag"] <= exported
    assert {"sum", "tanh", "matmul", "where", "concatenate"} <= graph_command.MODULE_FUNCTIONS[
        "ag"]
    assert {"exp", "tanh", "sum", "matmul"} <= graph_command.MODULE_FUNCTIONS["np"]


def test_every_primitive_of_an_entry_has_a_kind_and_a_rule() -> None:
    x = ag.tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    for e in TABLE:
        if not e.differentiable:
            continue
        for sample in e.samples[:1]:
            result = e.function(*(_literal(a, x) for a in sample.args), **sample.kwargs)
            outs = list(result) if isinstance(result, (list, tuple)) else [result]
            assert any(out.node is not None for out in outs), e.name
            for out in outs:
                if out.node is None:  # slogdet's sign: not recorded
                    continue
                assert out.node.op.kind in {"elementwise", "reduction", "contraction",
                                            "shape", "index", "join", "other"}, e.name
                assert out.node.op.rule.startswith(out.node.op.name + ":"), e.name


def _literal(arg: object, x: ag.Tensor) -> object:
    """A sample argument for a quick call: literals as given, tensors of the right shape."""
    from autograd_lite.ops.table import Lit

    if isinstance(arg, Lit):
        return arg.value
    if isinstance(arg, list):
        return [_literal(a, x) for a in arg]
    shape = tuple(arg)  # type: ignore[arg-type]
    return ag.tensor(np.random.default_rng(0).uniform(0.5, 1.5, shape), requires_grad=True)


# ---- both spellings -----------------------------------------------------------------


def test_dim_and_keepdim_equal_axis_and_keepdims() -> None:
    x = ag.tensor(np.arange(24.0).reshape(2, 3, 4))
    for name in ("sum", "mean", "max", "min", "var"):
        a = getattr(x, name)(axis=1, keepdims=True)
        b = getattr(x, name)(dim=1, keepdim=True)
        c = getattr(ag, name)(x, dim=1, keepdim=True)
        np.testing.assert_array_equal(a.data, b.data)
        np.testing.assert_array_equal(a.data, c.data)
        with pytest.raises(TypeError, match=f"{name}: got both axis= and dim="):
            getattr(x, name)(axis=1, dim=1)
    np.testing.assert_array_equal(x.softmax(dim=0).data, x.softmax(axis=0).data)
    np.testing.assert_array_equal(ag.concatenate([x, x], dim=2).data,
                                  np.concatenate([x.data, x.data], axis=2))


def test_var_accepts_unbiased_and_correction() -> None:
    x = ag.tensor([1.0, 2.0, 4.0, 7.0])
    assert x.var(unbiased=True).item() == pytest.approx(np.var(x.data, ddof=1))
    assert x.var(correction=0).item() == pytest.approx(np.var(x.data))
    with pytest.raises(TypeError, match="var: got ddof and unbiased"):
        x.var(ddof=1, unbiased=True)


def test_unknown_keywords_name_the_public_method() -> None:
    x = ag.tensor([[1.0, 2.0]])
    with pytest.raises(TypeError, match=r"Tensor\.mean\(\) got an unexpected keyword"):
        x.mean(axes=1)
    with pytest.raises(TypeError, match=r"Tensor\.sum\(\) got an unexpected keyword"):
        x.sum(foo=0)


def test_transpose_swaps_two_dims_and_permutes_with_one_per_axis() -> None:
    m = ag.tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(m.transpose(0, 1).data, m.data.T)
    np.testing.assert_array_equal(m.transpose().data, m.data.T)
    c = ag.tensor(np.arange(24.0).reshape(2, 3, 4))
    assert c.transpose(0, 2).shape == (4, 3, 2)
    assert c.transpose(2, 0, 1).shape == (4, 2, 3)
    assert c.permute(2, 0, 1).shape == (4, 2, 3)
    assert ag.transpose(c, (1, 2, 0)).shape == (3, 4, 2)
    assert np.transpose(c).shape == (4, 3, 2)
    assert m.t().shape == (3, 2) and m.T.shape == (3, 2)
    with pytest.raises(ValueError, match="t\\(\\): expects a tensor of at most 2 axes"):
        c.t()


def test_pytorch_method_names() -> None:
    x = ag.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert x.view(3, 2).shape == (3, 2) and x.view(-1).shape == (6,)
    assert x.numel() == x.nelement() == 6 and x.dim() == 2
    np.testing.assert_array_equal(x.add(1).sub(2).mul(3).div(4).neg().data,
                                  -((x.data + 1 - 2) * 3 / 4))
    np.testing.assert_array_equal(x.pow(2).data, x.data**2)
    np.testing.assert_array_equal(x.matmul(x.T).data, x.data @ x.data.T)
    np.testing.assert_array_equal(x.clamp(min=1.0, max=4.0).data, np.clip(x.data, 1, 4))
    assert x.float().dtype == np.float32 and x.float().double().dtype == np.float64
    x.float().sum().backward()
    assert x.grad is not None and x.grad.dtype == np.float64


def test_size_is_an_int_and_size_call_explains_itself() -> None:
    x = ag.tensor(np.zeros((2, 3)))
    assert x.size == 6 and isinstance(x.size, int)
    with pytest.raises(TypeError, match=r"t\.shape.*t\.numel\(\)"):
        x.size()


def test_zero_fills_in_place_on_grad_and_under_no_grad() -> None:
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    assert w.grad is not None
    grad = w.grad
    assert grad.zero_() is grad and grad.data.tolist() == [0.0, 0.0]
    with pytest.raises(RuntimeError, match="zero_\\(\\).*no_grad"):
        w.zero_()
    with ag.no_grad():
        w.zero_()
    assert w.data.tolist() == [0.0, 0.0]


def test_zero_leaves_an_array_saved_by_a_live_graph_intact() -> None:
    x = ag.tensor([3.0], requires_grad=True)
    c = ag.tensor([2.0])
    y = (x * c).sum()
    c.zero_()
    assert c.data.tolist() == [0.0]
    y.backward()
    assert x.grad is not None and x.grad.data.tolist() == [2.0]


def test_signatures_of_generated_methods_match_their_functions() -> None:
    # t.sum's parameters are ag.sum's after the tensor: what the generator promises.
    for m in codegen.members():
        method = inspect.signature(vars(ag.Tensor)[m.name].fget if m.is_property
                                   else vars(ag.Tensor)[m.name])
        impl = inspect.signature(m.impl)
        if m.is_property:
            continue
        assert list(method.parameters)[1:] == list(impl.parameters)[1:] or \
            list(method.parameters) == ["self", "args", "kwargs"], m.name


def _keywords(x: ag.Tensor, axis: int | None = None, *, dim: int = -1) -> ag.Tensor:
    """Keyword-only parameters."""
    return x


def _varargs(self: ag.Tensor, *shape: int) -> ag.Tensor:
    """Varargs."""
    return self


def _object_default(x: ag.Tensor, dtype: object = np.float64) -> ag.Tensor:
    """A default without a literal."""
    return x


def test_the_generator_writes_signatures_it_can_and_falls_back_otherwise() -> None:
    # "ag.Tensor" names a module tensor.py does not import: written as Any.
    assert codegen.signature(_keywords) == (
        ["self", "axis: int | None = None", "*", "dim: int = -1"],
        ["self", "axis", "dim=dim"], "Any")
    assert codegen.signature(_varargs) == (["self", "*shape: int"], ["self", "*shape"], "Any")
    assert codegen.signature(_object_default) == (
        ["self", "*args: Any", "**kwargs: Any"], ["self", "*args", "**kwargs"], "Any")


def test_flatten_takes_pytorchs_start_dim_and_end_dim() -> None:
    # `x = x.flatten(1)` (or torch.flatten(x, 1)) in every CNN tutorial was a TypeError.
    import torch

    x = np.arange(2 * 3 * 4 * 5.0).reshape(2, 3, 4, 5)
    for args in [(), (1,), (1, 2), (0, -2), (-1,), (2, 2)]:
        got = ag.tensor(x).flatten(*args)
        want = torch.tensor(x).flatten(*args).numpy()
        assert got.shape == want.shape and np.array_equal(got.data, want), args
    assert ag.tensor(3.0).flatten().shape == (1,)
    assert ag.tensor(np.zeros((0, 3, 2))).flatten(1).shape == (0, 6)
    with pytest.raises(ValueError, match="flatten: start_dim 2 comes after end_dim 1"):
        ag.tensor(x).flatten(2, 1)
    with pytest.raises(ValueError, match="flatten: axis 4 is out of range"):
        ag.tensor(x).flatten(4)


def test_no_public_function_names_a_factory_local_in_its_errors() -> None:
    # ag.exp(x, foo=1) said "_function.<locals>.fn() got an unexpected keyword argument",
    # ag.less(x) "_comparison.<locals>.function() missing ...".
    from autograd_lite import F

    x = ag.tensor([[1.0, 2.0]])
    for space, prefix in [(ag, "ag."), (ag.linalg, "ag.linalg."), (F, "F.")]:
        for name in dir(space):
            fn = getattr(space, name)
            if name.startswith("_") or inspect.isclass(fn) or not callable(fn) or \
                    inspect.ismodule(fn):
                continue
            try:
                fn(x, x, x, x, x, x, x, x, foo_unknown=1)
            except Exception as exc:  # noqa: BLE001 - any error, only its message matters
                assert "<locals>" not in str(exc), f"{prefix}{name}: {exc}"
