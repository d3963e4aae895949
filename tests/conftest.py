import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak-handshakes",
        type=int,
        default=2000,
        help="handshakes per server in the soak test (CI runs 2000; the long run is 10000)",
    )
