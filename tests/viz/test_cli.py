"""Tests of ``govsim demo``'s command line: it is registered, and bad input exits 2 with a message.

Serving itself is tested end to end in the browser (test_browser.py); here the server is never
started: every case fails before it would.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from govsim.cli import build_parser, main
from govsim.viz import cli as demo_cli


@pytest.fixture(autouse=True)
def restore_environment() -> Iterator[None]:
    """``govsim demo`` configures Solara through the environment: undo it after each test."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_demo_is_a_govsim_subcommand() -> None:
    args = build_parser().parse_args(["demo"])
    assert args.func is demo_cli._cmd_demo
    assert (args.scenario, args.host, args.port, args.lang, args.citizens) == (
        "baseline",
        "127.0.0.1",
        8765,
        "en",
        None,
    )
    assert (args.max_sessions, args.max_citizens) == (50, 1_000_000)
    args = build_parser().parse_args(["demo", "whistle", "--port", "0", "--lang", "zh"])
    assert (args.scenario, args.port, args.lang) == ("whistle", 0, "zh")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--port", "70000"], "expected a port number 0-65535 (got 70000)"),
        (["demo", "--port", "http"], "expected a port number 0-65535 (got 'http')"),
        (["demo", "--citizens", "10"], "expected a whole number of citizens 500-20000 (got 10)"),
        (["demo", "--lang", "fr"], "invalid choice: 'fr'"),
        (["demo", "--max-sessions", "0"], "expected a whole number above 0 (got 0)"),
        (["demo", "--max-citizens", "many"], "expected a whole number above 0 (got 'many')"),
        (
            ["demo", "--max-citizens", "5000"],
            "--max-citizens 5000: not even one session fits (its two cities of 3,000 citizens "
            "need 6,000)",
        ),
    ],
)
def test_bad_options_exit_2(argv, message, capsys) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_unknown_scenario_exits_2_with_did_you_mean(capsys) -> None:
    assert main(["demo", "one_netwrk"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "one_netwrk" in err and "one_network" in err


def test_the_queue_scenario_exits_2(capsys) -> None:
    assert main(["demo", "queue_mmc"]) == 2
    assert "M/M/c validation queue has no city to show" in capsys.readouterr().err


def test_a_port_in_use_exits_2(capsys) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["demo", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is already in use" in err and "--port 0" in err


def test_an_unknown_host_exits_2(monkeypatch, capsys) -> None:
    def no_such_host(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)  # no DNS query from a test
    assert main(["demo", "--host", "classroom.invalid", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "--host classroom.invalid: not a usable address (Name or service not known)" in err


def test_an_address_of_another_machine_exits_2(capsys) -> None:
    assert main(["demo", "--host", "192.0.2.1", "--port", "0"]) == 2  # TEST-NET-1: not ours
    assert "--host 192.0.2.1 --port 0: cannot listen there" in capsys.readouterr().err


def test_missing_viz_extra_exits_2_and_says_how_to_install(monkeypatch, capsys) -> None:
    real = demo_cli.importlib.util.find_spec
    monkeypatch.setattr(
        demo_cli.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "solara_assets" else real(name, *a),
    )
    assert main(["demo"]) == 2
    err = capsys.readouterr().err
    assert "missing: solara_assets" in err and "pip install 'govsim[viz]'" in err
