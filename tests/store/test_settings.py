"""Bad settings stop the start with a message naming the variable."""

import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from store.errors import SettingsError
from store.settings import Settings


@pytest.mark.parametrize(("env", "variable", "hint"), [
    ({"DATABASE_URL": "mysql://db/x"}, "DATABASE_URL", "postgresql://"),
    ({"REDIS_URL": "http://localhost:6379"}, "REDIS_URL", "redis://"),
    ({"CONNECTUS_SECRET_KEYS": "not-a-key"}, "CONNECTUS_SECRET_KEYS", "key 1"),
    ({"CONNECTUS_SECRET_KEYS": f"{Fernet.generate_key().decode()},short"},
     "CONNECTUS_SECRET_KEYS", "key 2"),
    ({"OPENAI_BASE_URL": "localhost:1234"}, "OPENAI_BASE_URL", "http"),
    ({"CONNECTUS_DEMO_API_KEY": "short"}, "CONNECTUS_DEMO_API_KEY", "20 characters"),
])
def test_bad_value_names_the_variable(env: dict, variable: str, hint: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    assert info.value.variable == variable
    assert str(info.value).startswith(f"{variable}:") and hint in str(info.value)


def test_good_values_are_parsed() -> None:
    keys = [Fernet.generate_key().decode() for _ in range(2)]
    settings = Settings.from_env({
        "DATABASE_URL": "postgres://u:p@db:5432/cx", "REDIS_URL": "redis://r:6379/0",
        "CONNECTUS_SECRET_KEYS": f" {keys[0]} , {keys[1]} ", "CONNECTUS_DATA_DIR": "/tmp/cx"})
    assert settings.secret_keys == tuple(keys)
    assert settings.model == "offline"
    assert str(settings.data_dir) == "/tmp/cx"


def test_cli_refuses_to_start_with_a_bad_setting() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ui.cli", "migrate"], capture_output=True, text=True,
        env={"DATABASE_URL": "mysql://nope/x", "PATH": ""}, timeout=60)
    assert result.returncode == 2
    assert "DATABASE_URL: must be a postgresql:// URL" in result.stderr
