"""Which node is the loss: without ``loss:``, the one node that feeds no other; two such nodes are a
mistake to name (taking the last written made every gradient 0); a node that does not reach the
loss is a warning, carried as data by the worksheet and printed by the command line."""
from __future__ import annotations

import pytest

from golden import worksheets
from symbackprop import solve
from symbackprop.errors import WorksheetError
from symbackprop.worksheet.read import load, loads

from support.cli import run_cli

AFTER_THE_LOSS = "given: {x: 2, w: -1}\nnodes:\n  z: w*x\n  L: z**2\n  check: x - 2\n"


def test_two_nodes_that_feed_nothing_are_named(tmp_path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(AFTER_THE_LOSS)
    done = run_cli("solve", str(path))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (f"symbackprop: {path}:5: no loss: is given, and 2 nodes feed no other node "
                           "(L and check): name the loss, as in 'loss: L'\n")


def test_the_one_node_that_feeds_nothing_is_the_loss_wherever_it_is_written() -> None:
    ws = loads("given: {x: 2}\nnodes:\n  L: z**2\n  z: 3*x\n")
    assert ws.loss == "L" and ws.warnings == ()
    assert solve(ws).derivation.gradient("x") == 36


def test_edges_and_nodes_together() -> None:
    ws = loads("given: {x: 2}\nedges:\n  x -> u: 3\nnodes:\n  L: u**2\n")
    assert ws.loss == "L"
    with pytest.raises(WorksheetError, match=r"2 nodes feed no other node \(L and v\)"):
        loads("given: {x: 2}\nedges:\n  x -> u: 3\n  x -> v: 1\nnodes:\n  L: u**2\n")


def test_a_node_off_the_loss_is_a_warning_carried_as_data() -> None:
    ws = loads(AFTER_THE_LOSS + "loss: L\n", "w.yaml")
    assert [str(w) for w in ws.warnings] == ["w.yaml:5: warning: node 'check' does not affect the loss"]
    assert solve(ws).derivation.gradient("x") == 4  # the loss is L, as stated


def test_the_command_line_prints_the_warning_and_goes_on(tmp_path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(AFTER_THE_LOSS + "loss: L\n")
    for command in ("solve", "exercise"):
        done = run_cli(command, str(path))
        assert done.returncode == 0 and done.stdout.startswith("# Backpropagation")
        assert done.stderr == f"symbackprop: {path}:5: warning: node 'check' does not affect the loss\n"


def test_an_unspecified_loss_reaches_its_arguments() -> None:
    ws = loads("given: [x, w]\nnodes:\n  z: w*x\n  yhat: z\n  spare: x + 1\nloss: {name: L, of: yhat}\n")
    assert [w.message for w in ws.warnings] == ["node 'spare' does not affect the loss"]


def test_seeds_have_no_warnings() -> None:
    assert {p.name: load(p).warnings for p in worksheets()} == {p.name: () for p in worksheets()}
