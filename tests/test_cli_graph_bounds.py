"""`graph` command bounds: total elements, ops and time; cheap layout of large graphs;
runtime errors in one line; expressions starting with '-'; a careful -o."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from autograd_lite.cli import main
from autograd_lite.commands import graph as command


def run_graph(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    status = main(["graph", *argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") <= 1, err
    return status, err


def test_the_element_cap_is_over_all_variables(tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    many = [arg for i in range(200) for arg in ("--var", f"v{i}=100,100")]
    status, err = run_graph(capsys, "v0.sum()", *many, "-o", str(tmp_path / "g.svg"))
    assert status == 2
    assert "'v100=100,100': 1,010,000 elements over all variables is more than the 1000000" in err


def test_a_shape_whose_product_wraps_in_int64_is_refused(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    status, err = run_graph(capsys, "x.sum()", "--var", "x=4294967296,4294967296",
                            "-o", str(tmp_path / "g.svg"))
    assert status == 2 and "18,446,744,073,709,551,616 elements over all variables" in err


def test_too_many_ops_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(command, "MAX_OPS", 10)
    status, err = run_graph(capsys, "+".join(["x"] * 12), "--var", "x=2",
                            "-o", str(tmp_path / "g.svg"))
    assert status == 2 and "records 11 ops, more than the 10" in err
    assert not (tmp_path / "g.svg").exists()


def test_the_time_limit_stops_the_command_with_exit_2(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(command, "MAX_SECONDS", 0.2)
    monkeypatch.setattr(command, "draw_graph", lambda *a, **k: time.sleep(30))
    status, err = run_graph(capsys, "x.sum()", "--var", "x=2", "-o", str(tmp_path / "g.svg"))
    assert status == 2 and "stopped after 0.2 s (the limit)" in err
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL
    assert not (tmp_path / "g.svg").exists()


def test_a_long_chain_with_a_shared_leaf_is_laid_out_cheaply(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    chain = "+".join(["x"] * 61)  # 60 additions, x feeding every one of them
    assert run_graph(capsys, chain, "--var", "x=3", "-o", str(tmp_path / "g.dot"))[0] == 0
    source = (tmp_path / "g.dot").read_text()
    assert "nslimit=2" in source
    assert source.count("headlabel=") == 120 and " [label=0]" not in source
    assert run_graph(capsys, chain, "--var", "x=3", "-o", str(tmp_path / "g.svg"))[0] == 0
    assert (tmp_path / "g.svg").read_text().count('class="node op"') == 60
    small = tmp_path / "small.dot"
    assert run_graph(capsys, "x + x", "--var", "x=3", "-o", str(small))[0] == 0
    assert "[label=0]" in small.read_text() and "nslimit" not in small.read_text()


def test_l2_penalty_of_a_large_variable_is_four_ops(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "g.dot"
    assert run_graph(capsys, "F.l2_penalty(x)", "--var", "x=100000", "-o", str(out))[0] == 0
    # mul, sum, 0 + it (Python's sum), * 0.5: not one op per element
    assert out.read_text().count("class=op") == 4


@pytest.mark.parametrize(("expr", "message"), [
    ("(2).exp()", "AttributeError: 'int' object has no attribute 'exp'"),
    ("x[5]", "IndexError"),
])
def test_runtime_errors_are_one_line_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture,
                                            expr: str, message: str) -> None:
    status, err = run_graph(capsys, expr, "--var", "x=3", "-o", str(tmp_path / "g.svg"))
    assert status == 1 and message in err


@pytest.mark.parametrize("expr", ["-x.sum()", "-x * 2", "-(x @ x.T).sum(axis=0)"])
def test_an_expression_starting_with_minus_is_the_expression(
        tmp_path: Path, capsys: pytest.CaptureFixture, expr: str) -> None:
    out = tmp_path / "g.dot"
    assert run_graph(capsys, expr, "--var", "x=3,2", "-o", str(out))[0] == 0
    assert "neg" in out.read_text()
    assert run_graph(capsys, "--var", "x=3,2", "-o", str(tmp_path / "h.dot"), expr)[0] == 0
    assert run_graph(capsys, "--var", "x=3,2", "-o", str(tmp_path / "i.dot"), "--", expr)[0] == 0


def test_unknown_options_and_a_missing_expression_are_still_errors(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as info:
        main(["graph", "x.sum()", "--var", "x=2", "--bogus", "-o", str(tmp_path / "g.svg")])
    assert info.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err
    status, err = run_graph(capsys, "--var", "x=2", "-o", str(tmp_path / "g.svg"))
    assert status == 2 and "the expression EXPR is missing" in err


def test_output_in_a_missing_directory_is_refused_not_created(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "no" / "such" / "g.svg"
    status, err = run_graph(capsys, "x.sum()", "--var", "x=2", "-o", str(out))
    assert status == 2 and f"directory '{out.parent}' does not exist; create it first" in err
    assert not (tmp_path / "no").exists()


def test_an_existing_output_is_overwritten_only_with_force(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "g.dot"
    out.write_text("precious")
    status, err = run_graph(capsys, "x.sum()", "--var", "x=2", "-o", str(out))
    assert status == 2 and "already exists; pass --force to overwrite it" in err
    assert out.read_text() == "precious"
    assert run_graph(capsys, "x.sum()", "--var", "x=2", "--force", "-o", str(out))[0] == 0
    assert out.read_text().startswith("digraph")


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_nothing_is_written_through_a_symlink(tmp_path: Path, capsys: pytest.CaptureFixture,
                                              force: list[str]) -> None:
    target = tmp_path / "target.dot"
    target.write_text("precious")
    link = tmp_path / "g.dot"
    link.symlink_to(target)
    status, err = run_graph(capsys, "x.sum()", "--var", "x=2", *force, "-o", str(link))
    assert status == 2 and "is a symbolic link" in err
    assert target.read_text() == "precious" and link.is_symlink()
    dangling = tmp_path / "d.dot"
    dangling.symlink_to(tmp_path / "elsewhere.dot")
    assert run_graph(capsys, "x.sum()", "--var", "x=2", *force, "-o", str(dangling))[0] == 2
    assert not (tmp_path / "elsewhere.dot").exists()


def test_a_failed_write_leaves_no_partial_file(tmp_path: Path, capsys: pytest.CaptureFixture,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "g.dot"
    real_fdopen = command.os.fdopen

    class Full:
        def __init__(self, fd: int, mode: str) -> None:
            self.fh = real_fdopen(fd, mode)

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

        def write(self, data: bytes) -> None:
            self.fh.write(data[:10])
            self.fh.flush()
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(command.os, "fdopen", Full)
    status, err = run_graph(capsys, "x.sum()", "--var", "x=2", "-o", str(out))
    assert status == 1 and "No space left on device" in err
    assert not out.exists()
